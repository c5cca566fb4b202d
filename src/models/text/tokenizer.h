// The tokenizer of captions, of two types (docs/TEXT.md explains the choice):
// - "word": lower-cased words, a fixed vocabulary saved as JSON, and a clear error for words it
//   has never seen. Shapes World's language is closed (under a hundred words), so every word a
//   caption can use has its own token and nothing is split into pieces the model never saw
//   together.
// - "sentencepiece": subword pieces of a SentencePiece model trained on the captions
//   (sentencepiece_model.h), for the open vocabulary of real videos' captions: a word never seen
//   in training is read as pieces of words that were.
//
// Splitting, for both: ASCII letters are lower-cased; letters, digits, '-', '\'' and non-ASCII
// characters (UTF-8) make up words; other ASCII characters and Unicode punctuation and spaces
// separate words and are dropped ("On a navy background, ..." -> on a navy background ...). The
// sentencepiece type cuts the words, joined by single spaces, into pieces, after NFKC and Unicode
// case folding (so its other letters are lower-cased too). The empty prompt (nothing but
// separators) is the single token <empty>, the unconditional input of classifier-free guidance.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cubist::text {

inline constexpr int32_t kPad = 0, kUnk = 1, kEmpty = 2;
inline constexpr int64_t kDefaultMaxTokens = 64;
inline constexpr int64_t kDefaultSentencePieceVocab = 4000;

class SentencePieceModel;

// The words of `text`, lower-cased, in order (see the splitting rule above).
std::vector<std::string> split_words(std::string_view text);

// Captions that, over every template and synonym, use every word Shapes World can say.
std::vector<std::string> shapes_world_captions();

class Tokenizer {
 public:
  // The special tokens <pad>, <unk>, <empty> take ids 0, 1, 2; `words` follow in sorted order
  // (duplicates dropped). Words must be what split_words would produce.
  static Tokenizer from_words(std::vector<std::string> words,
                              int64_t max_tokens = kDefaultMaxTokens);
  // Every word that occurs in the captions.
  static Tokenizer from_captions(const std::vector<std::string>& captions,
                                 int64_t max_tokens = kDefaultMaxTokens);
  // A SentencePiece model of at most `vocab_size` pieces, trained on the captions.
  static Tokenizer sentencepiece(const std::vector<std::string>& captions, int64_t vocab_size,
                                 int64_t max_tokens = kDefaultMaxTokens);
  // Every word that Shapes World's canonical captions, short prompts and descriptions can use.
  static Tokenizer shapes_world(int64_t max_tokens = kDefaultMaxTokens);

  // JSON: {"type": "word", "max_tokens": N, "vocab": ["<pad>", "<unk>", "<empty>", ...]} or
  // {"type": "sentencepiece", "max_tokens": N, "pieces": P, "model": "BASE64"}, where "model" is
  // the SentencePiece model's bytes.
  static Tokenizer load(const std::string& path);
  void save(const std::string& path) const;  // atomic: written beside, then renamed
  // The same JSON as a string (for checkpoints); `where` names the source in errors.
  static Tokenizer from_json(const std::string& json_text, const std::string& where = "tokenizer");
  std::string to_json() const;

  // Token ids of a prompt. An unknown word (for sentencepiece: a character no training caption
  // had) throws Error naming them all, with the vocabulary of a word tokenizer; more than
  // max_tokens tokens throws Error saying how many are accepted.
  std::vector<int32_t> encode(std::string_view prompt) const;
  // The same, but unknown words become <unk> (for captions of real videos).
  std::vector<int32_t> encode_lenient(std::string_view prompt) const;
  // How many tokens `text` has, before any cut (the empty prompt has one).
  int64_t count(std::string_view text) const;
  // A training caption: its first max_tokens tokens, as the model reads no more (a longer
  // caption is cut, not refused: it may come up hours into a run); unknown words as encode, or
  // as encode_lenient when `lenient`.
  std::vector<int32_t> encode_caption(std::string_view caption, bool lenient = false) const;
  // Words joined by single spaces (sentencepiece: the pieces joined back into words); <empty>
  // decodes to "", other special tokens to their names.
  std::string decode(std::span<const int32_t> ids) const;

  // "word" or "sentencepiece".
  const char* type() const { return pieces_ ? "sentencepiece" : "word"; }
  bool subword() const { return pieces_ != nullptr; }
  // The same tokens for the same text: the same type and vocabulary (and SentencePiece model).
  bool same_as(const Tokenizer& other) const;

  // The id of a whole token ("red", or a piece such as "\u2581red"), if it is in the vocabulary.
  std::optional<int32_t> id(std::string_view word) const;
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t max_tokens() const { return max_tokens_; }
  // The same tokenizer reading at most `n` tokens (a model that reads fewer than the file says).
  Tokenizer reading_at_most(int64_t n) const;
  // The words, or the pieces of a SentencePiece model, by id.
  const std::vector<std::string>& vocab() const { return vocab_; }

 private:
  static Tokenizer with_pieces(SentencePieceModel model, int64_t max_tokens);
  static Tokenizer from_sentencepiece_json(const nlohmann::json& j, const std::string& where);
  std::vector<int32_t> encode_impl(std::string_view prompt, bool lenient, bool cut) const;
  std::vector<int32_t> ids_of(const std::vector<std::string>& words, std::string_view prompt,
                              bool lenient) const;
  std::vector<int32_t> piece_ids(const std::vector<std::string>& words, std::string_view prompt,
                                 bool lenient) const;
  std::vector<std::string> vocab_;
  std::shared_ptr<const SentencePieceModel> pieces_;  // null for the word type
  std::unordered_map<std::string, int32_t> ids_;
  int64_t max_tokens_ = kDefaultMaxTokens;
};

}  // namespace cubist::text
