// The tokenizer: splitting, vocabularies of words or SentencePiece pieces, JSON files, encoding
// with clear errors.
#include "models/text/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/shapes_caption.h"
#include "data/shapes_world.h"
#include "io/base64.h"
#include "io/text_file.h"
#include "models/text/sentencepiece_model.h"

namespace cubist::text {
namespace {

const char* const kSpecial[] = {"<pad>", "<unk>", "<empty>"};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '\'';
}

// The length of the UTF-8 sequence that starts with byte `b`; 0 for a byte that starts none.
size_t utf8_length(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 0;
}

// The code point of the UTF-8 sequence at the start of `s`, or nothing when it is malformed.
std::optional<char32_t> code_point(std::string_view s) {
  const size_t n = utf8_length(static_cast<unsigned char>(s[0]));
  if (n == 0 || n > s.size()) return std::nullopt;
  char32_t cp = static_cast<unsigned char>(s[0]) & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b >> 6) != 0x2) return std::nullopt;
    cp = cp << 6 | (b & 0x3F);
  }
  return cp;
}

// Unicode spaces and punctuation, which separate words as ASCII punctuation does: Latin-1's
// (no-break space, guillemets, inverted marks, ...), general punctuation (dashes, curly quotes,
// ellipsis, ...), CJK punctuation and full-width ASCII punctuation.
bool separates(char32_t cp) {
  return (cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x206F) ||
         (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF || (cp >= 0xFF01 && cp <= 0xFF0F) ||
         (cp >= 0xFF1A && cp <= 0xFF20);
}

// "a", "b" and "c" (at most `limit` items, then "... (N in all)").
std::string quoted_list(const std::vector<std::string>& items, size_t limit) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i)
    out += (i ? ", \"" : "\"") + items[i] + "\"";
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

// Specs that, over every template and synonym choice, make Shapes World say every word it can:
// each colour, shape, size and motion once, and lists of two and three objects.
std::vector<shapes::SceneSpec> covering_specs() {
  using namespace shapes;
  std::vector<SceneSpec> specs;
  for (int b = 0; b < kNumBackgrounds; ++b)
    for (int c = 0; c < kNumColours; ++c)
      for (int s = 0; s < kNumShapes; ++s)
        for (int z = 0; z < kNumSizes; ++z)
          for (int m = 0; m < kNumMotions; ++m) {
            ObjectSpec o{static_cast<Size>(z), static_cast<Colour>(c), static_cast<Shape>(s),
                         static_cast<Motion>(m)};
            if (o.motion == Motion::kSpinning && !can_spin(o.shape)) continue;
            specs.push_back({static_cast<Background>(b), {o}});
          }
  const ObjectSpec a{Size::kSmall, Colour::kRed, Shape::kSquare, Motion::kLeft};
  const ObjectSpec b{Size::kLarge, Colour::kOrange, Shape::kCircle, Motion::kBouncing};
  const ObjectSpec c{Size::kSmall, Colour::kBlue, Shape::kTriangle, Motion::kSpinning};
  specs.push_back({Background::kBlack, {a, b}});
  specs.push_back({Background::kGray, {a, b, c}});
  return specs;
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string w;
  const auto end_word = [&] {
    if (!w.empty()) words.push_back(std::move(w));
    w.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      if (word_char(c))
        w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      else
        end_word();
      ++i;
      continue;
    }
    const std::optional<char32_t> cp = code_point(text.substr(i));
    if (!cp || separates(*cp)) {  // malformed bytes separate too
      end_word();
      i += cp ? utf8_length(static_cast<unsigned char>(c)) : 1;
      continue;
    }
    const size_t n = utf8_length(static_cast<unsigned char>(c));
    w += text.substr(i, n);
    i += n;
  }
  end_word();
  return words;
}

Tokenizer Tokenizer::from_words(std::vector<std::string> words, int64_t max_tokens) {
  CUBIST_CHECK(max_tokens >= 1, "tokenizer: max_tokens must be at least 1, got ", max_tokens);
  Tokenizer t;
  t.max_tokens_ = max_tokens;
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  for (const char* s : kSpecial) t.vocab_.push_back(s);
  for (std::string& w : words) {
    CUBIST_CHECK(!w.empty() && split_words(w) == std::vector<std::string>{w}, "tokenizer: \"", w,
                 "\" is not a single lower-case word (accepted: letters, ",
                 "digits, '-' and '\\'')");
    t.vocab_.push_back(std::move(w));
  }
  for (size_t i = 0; i < t.vocab_.size(); ++i) t.ids_[t.vocab_[i]] = static_cast<int32_t>(i);
  return t;
}

Tokenizer Tokenizer::from_captions(const std::vector<std::string>& captions, int64_t max_tokens) {
  std::set<std::string> words;
  for (const std::string& c : captions)
    for (std::string& w : split_words(c)) words.insert(std::move(w));
  return from_words({words.begin(), words.end()}, max_tokens);
}

Tokenizer Tokenizer::sentencepiece(const std::vector<std::string>& captions, int64_t vocab_size,
                                   int64_t max_tokens) {
  CUBIST_CHECK(max_tokens >= 1, "tokenizer: max_tokens must be at least 1, got ", max_tokens);
  std::vector<std::string> texts;  // as encode will cut them: the words, joined by spaces
  for (const std::string& c : captions) texts.push_back(join(split_words(c), " "));
  return with_pieces(SentencePieceModel::train(texts, vocab_size), max_tokens);
}

Tokenizer Tokenizer::with_pieces(SentencePieceModel model, int64_t max_tokens) {
  Tokenizer t;
  t.max_tokens_ = max_tokens;
  for (int32_t i = 0; i < model.size(); ++i) t.vocab_.push_back(model.piece(i));
  for (size_t i = 0; i < t.vocab_.size(); ++i) t.ids_[t.vocab_[i]] = static_cast<int32_t>(i);
  t.pieces_ = std::make_shared<const SentencePieceModel>(std::move(model));
  return t;
}

std::vector<std::string> shapes_world_captions() {
  std::vector<std::string> captions;
  for (const shapes::SceneSpec& spec : covering_specs()) {
    captions.push_back(shapes::canonical_caption(spec));
    captions.push_back(shapes::short_prompt(spec));
    // 3 bits of the variant per object choose the synonyms: 2^(3n) variants cover them all.
    const uint64_t variants = uint64_t{1} << (3 * spec.objects.size());
    for (int tmpl = 0; tmpl < shapes::kDescriptionTemplates; ++tmpl)
      for (uint64_t v = 0; v<variants; v += spec.objects.size()> 1 ? 7 : 1)
        captions.push_back(shapes::describe(spec, tmpl, v));
  }
  return captions;
}

Tokenizer Tokenizer::shapes_world(int64_t max_tokens) {
  return from_captions(shapes_world_captions(), max_tokens);
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in.good(), "tokenizer: cannot open ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json(ss.str(), path);
}

Tokenizer Tokenizer::from_json(const std::string& json_text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    fail("tokenizer: ", where, " is not valid JSON: ", e.what());
  }
  if (j.is_object() && j.value("type", "") == "sentencepiece")
    return from_sentencepiece_json(j, where);
  CUBIST_CHECK(j.is_object() && j.value("type", "") == "word" && j.contains("vocab") &&
                   j["vocab"].is_array(),
               "tokenizer: ", where,
               " is not a tokenizer file (expected {\"type\": \"word\", \"max_tokens\": N, "
               "\"vocab\": [\"<pad>\", \"<unk>\", \"<empty>\", ...]} or {\"type\": "
               "\"sentencepiece\", \"max_tokens\": N, \"model\": \"BASE64\"}, as `cubist text "
               "tokenizer` writes)");
  std::vector<std::string> vocab;
  int64_t max_tokens = kDefaultMaxTokens;
  try {
    vocab = j["vocab"].get<std::vector<std::string>>();
    max_tokens = j.value("max_tokens", kDefaultMaxTokens);
  } catch (const std::exception& e) {
    fail("tokenizer: ", where, ": ", e.what());
  }
  CUBIST_CHECK(vocab.size() >= 3 && vocab[0] == kSpecial[0] && vocab[1] == kSpecial[1] &&
                   vocab[2] == kSpecial[2],
               "tokenizer: ", where, ": the vocabulary must start with <pad>, <unk>, <empty>");
  const std::vector<std::string> words(vocab.begin() + 3, vocab.end());
  Tokenizer t = from_words(words, max_tokens);
  CUBIST_CHECK(t.vocab_size() == static_cast<int64_t>(vocab.size()), "tokenizer: ", where,
               ": the vocabulary has repeated words");
  // Ids are positions in the file: keep the file's order, not the sorted one.
  t.vocab_ = vocab;
  t.ids_.clear();
  for (size_t i = 0; i < t.vocab_.size(); ++i) t.ids_[t.vocab_[i]] = static_cast<int32_t>(i);
  return t;
}

Tokenizer Tokenizer::from_sentencepiece_json(const nlohmann::json& j, const std::string& where) {
  CUBIST_CHECK(j.contains("model") && j["model"].is_string(), "tokenizer: ", where,
               " has no \"model\" (a sentencepiece tokenizer's model, in base64)");
  const nlohmann::json& most =
      j.contains("max_tokens") ? j["max_tokens"] : nlohmann::json(kDefaultMaxTokens);
  CUBIST_CHECK(most.is_number_integer() && most.get<int64_t>() >= 1, "tokenizer: ", where,
               ": \"max_tokens\" must be a whole number of at least 1");
  const std::string what = "tokenizer " + where + "'s \"model\"";
  return with_pieces(SentencePieceModel(base64_decode(j["model"].get<std::string>(), what), where),
                     most.get<int64_t>());
}

std::string Tokenizer::to_json() const {
  nlohmann::ordered_json j;
  j["type"] = type();
  j["max_tokens"] = max_tokens_;
  if (pieces_) {
    j["pieces"] = vocab_size();
    j["model"] = base64_encode(pieces_->bytes());
  } else {
    j["vocab"] = vocab_;
  }
  return j.dump(1);
}

Tokenizer Tokenizer::reading_at_most(int64_t n) const {
  CUBIST_CHECK(n >= 1, "tokenizer: max_tokens must be at least 1, got ", n);
  Tokenizer t = *this;
  t.max_tokens_ = std::min(max_tokens_, n);
  return t;
}

bool Tokenizer::same_as(const Tokenizer& other) const {
  if (subword() != other.subword() || vocab_ != other.vocab_) return false;
  return !pieces_ || pieces_->bytes() == other.pieces_->bytes();
}

void Tokenizer::save(const std::string& path) const { write_text_file(path, to_json() + "\n"); }

std::optional<int32_t> Tokenizer::id(std::string_view word) const {
  auto it = ids_.find(std::string(word));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> Tokenizer::encode(std::string_view prompt) const {
  return encode_impl(prompt, false, false);
}

std::vector<int32_t> Tokenizer::encode_lenient(std::string_view prompt) const {
  return encode_impl(prompt, true, false);
}

std::vector<int32_t> Tokenizer::encode_caption(std::string_view caption, bool lenient) const {
  return encode_impl(caption, lenient, true);
}

int64_t Tokenizer::count(std::string_view text) const {
  const std::vector<std::string> words = split_words(text);
  if (words.empty()) return 1;  // <empty>
  if (!pieces_) return static_cast<int64_t>(words.size());
  return static_cast<int64_t>(pieces_->encode(join(words, " ")).size());
}

std::vector<int32_t> Tokenizer::encode_impl(std::string_view prompt, bool lenient, bool cut) const {
  std::vector<std::string> words = split_words(prompt);
  if (words.empty()) return {kEmpty};
  // Words past the cut are not read, so they cannot be unknown.
  if (cut && static_cast<int64_t>(words.size()) > max_tokens_)
    words.resize(static_cast<size_t>(max_tokens_));
  std::vector<int32_t> ids =
      pieces_ ? piece_ids(words, prompt, lenient) : ids_of(words, prompt, lenient);
  if (cut && static_cast<int64_t>(ids.size()) > max_tokens_)
    ids.resize(static_cast<size_t>(max_tokens_));
  CUBIST_CHECK(static_cast<int64_t>(ids.size()) <= max_tokens_, "tokenizer: the prompt has ",
               ids.size(), pieces_ ? " pieces (SentencePiece tokens)" : " words", " but at most ",
               max_tokens_, " are accepted: ", quoted_excerpt(prompt));
  return ids;
}

std::vector<int32_t> Tokenizer::ids_of(const std::vector<std::string>& words,
                                       std::string_view prompt, bool lenient) const {
  std::vector<int32_t> ids;
  std::vector<std::string> unknown;
  for (const std::string& w : words) {
    auto it = ids_.find(w);
    // Special tokens are not words a prompt can use.
    if (it == ids_.end() || it->second <= kEmpty) {
      if (std::find(unknown.begin(), unknown.end(), w) == unknown.end()) unknown.push_back(w);
      ids.push_back(kUnk);
    } else {
      ids.push_back(it->second);
    }
  }
  if (!unknown.empty() && !lenient) {
    const std::vector<std::string> known(vocab_.begin() + 3, vocab_.end());
    CUBIST_CHECK(!known.empty(), "tokenizer: this model knows no words (the captions it was ",
                 "trained on were empty), so it cannot read the prompt ", quoted_excerpt(prompt));
    fail("tokenizer: unknown word", unknown.size() > 1 ? "s " : " ", quoted_list(unknown, 20),
         " in the prompt ", quoted_excerpt(prompt), "; the ", known.size(),
         " words accepted are: ", quoted_list(known, 300));
  }
  return ids;
}

std::vector<int32_t> Tokenizer::piece_ids(const std::vector<std::string>& words,
                                          std::string_view prompt, bool lenient) const {
  const std::string text = join(words, " ");
  std::vector<int32_t> ids = pieces_->encode(text);
  if (lenient || std::find(ids.begin(), ids.end(), kUnk) == ids.end()) return ids;
  // The pieces line up with the ids; an unknown one is the characters it stands for.
  const std::vector<std::string> pieces = pieces_->pieces(text);
  std::vector<std::string> unknown;
  for (size_t i = 0; i < ids.size() && i < pieces.size(); ++i) {
    if (ids[i] != kUnk) continue;
    std::string p = pieces[i];
    if (p.rfind("\u2581", 0) == 0) p = p.substr(3);  // the word-start mark
    if (!p.empty() && std::find(unknown.begin(), unknown.end(), p) == unknown.end())
      unknown.push_back(p);
  }
  fail("tokenizer: the prompt ", quoted_excerpt(prompt),
       " has characters that no training caption had: ", quoted_list(unknown, 20),
       "; the model's SentencePiece tokenizer can read any word written with the characters of "
       "its training captions");
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  std::vector<int32_t> kept;
  for (int32_t i : ids) {
    CUBIST_CHECK(i >= 0 && i < vocab_size(), "tokenizer: token id ", i,
                 " is out of range (accepted: 0 to ", vocab_size() - 1, ")");
    if (i == kEmpty) continue;
    if (pieces_) {
      kept.push_back(i);
      continue;
    }
    if (!out.empty()) out += " ";
    out += vocab_[static_cast<size_t>(i)];
  }
  return pieces_ ? pieces_->decode(kept) : out;
}

}  // namespace cubist::text
