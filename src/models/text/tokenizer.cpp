// Word-level tokenizer: splitting, vocabulary building, JSON files, encoding with clear errors.
#include "models/text/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"
#include "data/shapes_caption.h"
#include "data/shapes_world.h"

namespace cubist::text {
namespace {

const char* const kSpecial[] = {"<pad>", "<unk>", "<empty>"};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '\'';
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
  for (char c : text) {
    if (word_char(c)) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      words.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) words.push_back(std::move(w));
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

Tokenizer Tokenizer::shapes_world(int64_t max_tokens) {
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
  return from_captions(captions, max_tokens);
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
  CUBIST_CHECK(j.is_object() && j.value("type", "") == "word" && j.contains("vocab") &&
                   j["vocab"].is_array(),
               "tokenizer: ", where,
               " is not a word tokenizer file (expected {\"type\": \"word\", \"max_tokens\": N, "
               "\"vocab\": [\"<pad>\", \"<unk>\", \"<empty>\", ...]})");
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

std::string Tokenizer::to_json() const {
  nlohmann::ordered_json j;
  j["type"] = "word";
  j["max_tokens"] = max_tokens_;
  j["vocab"] = vocab_;
  return j.dump(1);
}

void Tokenizer::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << to_json() << "\n";
    out.flush();
    CUBIST_CHECK(out.good(), "tokenizer: writing ", tmp, " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("tokenizer: cannot rename ", tmp, " to ", path);
  }
}

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

std::vector<int32_t> Tokenizer::encode_impl(std::string_view prompt, bool lenient, bool cut) const {
  std::vector<std::string> words = split_words(prompt);
  if (words.empty()) return {kEmpty};
  if (cut && static_cast<int64_t>(words.size()) > max_tokens_)
    words.resize(static_cast<size_t>(max_tokens_));
  CUBIST_CHECK(static_cast<int64_t>(words.size()) <= max_tokens_, "tokenizer: the prompt has ",
               words.size(), " words but at most ", max_tokens_, " are accepted: \"", prompt, "\"");
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
                 "trained on were empty), so it cannot read the prompt \"", prompt, "\"");
    fail("tokenizer: unknown word", unknown.size() > 1 ? "s " : " ", quoted_list(unknown, 20),
         " in the prompt \"", prompt, "\"; the ", known.size(),
         " words accepted are: ", quoted_list(known, 300));
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t i : ids) {
    CUBIST_CHECK(i >= 0 && i < vocab_size(), "tokenizer: token id ", i,
                 " is out of range (accepted: 0 to ", vocab_size() - 1, ")");
    if (i == kEmpty) continue;
    if (!out.empty()) out += " ";
    out += vocab_[static_cast<size_t>(i)];
  }
  return out;
}

}  // namespace cubist::text
