// A word-level tokenizer for captions: lower-cased words, a fixed vocabulary saved as JSON, and a
// clear error for words it has never seen. Shapes World's language is closed (under a hundred
// words), so every word a caption can use has its own token and nothing is split into pieces the
// model never saw together; docs/ARCHITECTURE.md explains the choice over SentencePiece.
//
// Splitting: ASCII letters are lower-cased; letters, digits, '-' and '\'' make up words; every
// other character separates words and is dropped ("On a navy background, ..." -> on a navy
// background ...). The empty prompt (nothing but separators) is the single token <empty>, the
// unconditional input of classifier-free guidance.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cubist::text {

inline constexpr int32_t kPad = 0, kUnk = 1, kEmpty = 2;
inline constexpr int64_t kDefaultMaxTokens = 64;

// The words of `text`, lower-cased, in order (see the splitting rule above).
std::vector<std::string> split_words(std::string_view text);

class Tokenizer {
 public:
  // The special tokens <pad>, <unk>, <empty> take ids 0, 1, 2; `words` follow in sorted order
  // (duplicates dropped). Words must be what split_words would produce.
  static Tokenizer from_words(std::vector<std::string> words,
                              int64_t max_tokens = kDefaultMaxTokens);
  // Every word that occurs in the captions.
  static Tokenizer from_captions(const std::vector<std::string>& captions,
                                 int64_t max_tokens = kDefaultMaxTokens);
  // Every word that Shapes World's canonical captions, short prompts and descriptions can use.
  static Tokenizer shapes_world(int64_t max_tokens = kDefaultMaxTokens);

  // JSON: {"type": "word", "max_tokens": N, "vocab": ["<pad>", "<unk>", "<empty>", ...]}.
  static Tokenizer load(const std::string& path);
  void save(const std::string& path) const;  // atomic: written beside, then renamed
  // The same JSON as a string (for checkpoints); `where` names the source in errors.
  static Tokenizer from_json(const std::string& json_text, const std::string& where = "tokenizer");
  std::string to_json() const;

  // Token ids of a prompt. An unknown word throws Error listing every unknown word and the
  // vocabulary; more than max_tokens words throws Error saying how many are accepted.
  std::vector<int32_t> encode(std::string_view prompt) const;
  // The same, but unknown words become <unk> (for captions of real videos).
  std::vector<int32_t> encode_lenient(std::string_view prompt) const;
  // A training caption: its first max_tokens words, as the model reads no more (a longer
  // caption is cut, not refused: it may come up hours into a run); unknown words as encode, or
  // as encode_lenient when `lenient`.
  std::vector<int32_t> encode_caption(std::string_view caption, bool lenient = false) const;
  // Words joined by single spaces; <empty> decodes to "", other special tokens to their names.
  std::string decode(std::span<const int32_t> ids) const;

  std::optional<int32_t> id(std::string_view word) const;
  int64_t vocab_size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t max_tokens() const { return max_tokens_; }
  const std::vector<std::string>& vocab() const { return vocab_; }

 private:
  std::vector<int32_t> encode_impl(std::string_view prompt, bool lenient, bool cut) const;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  int64_t max_tokens_ = kDefaultMaxTokens;
};

}  // namespace cubist::text
