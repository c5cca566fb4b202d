// A SentencePiece subword model (Debian's libsentencepiece): trained on captions by Cubist, kept
// as its serialized bytes (which the tokenizer stores in its JSON and in checkpoints), and used
// to cut text into pieces. The library's headers stay in the .cpp.
//
// Ids: 0 <pad>, 1 <unk>, 2 <empty>, then the pieces, as the word tokenizer (tokenizer.h). Text
// is normalized by NFKC and Unicode case folding (SentencePiece's nmt_nfkc_cf), so "CAFÉ" and
// "café" are one word.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cubist::text {

class SentencePieceModel {
 public:
  // Trains a unigram model of at most `vocab_size` pieces (fewer when the texts hold fewer:
  // the limit is soft) on `texts`, every character of which gets a piece. Deterministic: the
  // same texts give the same bytes, so every process of a data-parallel run agrees.
  static SentencePieceModel train(const std::vector<std::string>& texts, int64_t vocab_size);
  // Throws Error naming `where` when `bytes` is not a model with Cubist's special tokens.
  SentencePieceModel(std::string bytes, const std::string& where);
  ~SentencePieceModel();
  SentencePieceModel(SentencePieceModel&&) noexcept;
  SentencePieceModel& operator=(SentencePieceModel&&) noexcept;

  std::vector<int32_t> encode(std::string_view text) const;
  // The text of each piece of `text`; for an unknown piece, the characters it stands for.
  std::vector<std::string> pieces(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  int64_t size() const;
  std::string piece(int32_t id) const;
  const std::string& bytes() const { return bytes_; }

 private:
  struct Impl;
  std::string bytes_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cubist::text
