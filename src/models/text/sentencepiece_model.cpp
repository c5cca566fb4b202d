#include "models/text/sentencepiece_model.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include "core/error.h"
#include "models/text/tokenizer.h"

namespace cubist::text {
namespace {

// Feeds the trainer from memory rather than a file.
class Texts : public sentencepiece::SentenceIterator {
 public:
  explicit Texts(const std::vector<std::string>& texts) : texts_(texts) {}
  bool done() const override { return i_ >= texts_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return texts_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& texts_;
  size_t i_ = 0;
};

}  // namespace

struct SentencePieceModel::Impl {
  sentencepiece::SentencePieceProcessor processor;
};

SentencePieceModel SentencePieceModel::train(const std::vector<std::string>& texts,
                                             int64_t vocab_size) {
  CUBIST_CHECK(vocab_size >= 8, "tokenizer: a sentencepiece tokenizer has at least 8 pieces, got ",
               vocab_size);
  std::vector<std::string> kept;
  for (const std::string& t : texts)
    if (!t.empty()) kept.push_back(t);
  CUBIST_CHECK(!kept.empty(),
               "sentencepiece: no text to train on (every caption is empty); give the videos "
               "captions, or use the word tokenizer");
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", "unigram"},
      {"normalization_rule_name", "nmt_nfkc_cf"},  // NFKC and Unicode case folding
      {"vocab_size", std::to_string(vocab_size)},
      {"hard_vocab_limit", "false"},  // small caption sets hold fewer pieces
      {"character_coverage", "1.0"},  // every character seen gets a piece
      {"pad_id", std::to_string(kPad)},
      {"unk_id", std::to_string(kUnk)},
      {"control_symbols", "<empty>"},  // id 2 = kEmpty
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"num_threads", "1"},          // one thread: the same bytes from the same texts
      {"input_sentence_size", "0"},  // every caption, no sampling
      {"max_sentence_length", "1000000"},
      {"minloglevel", "2"},  // the library's own log is pages long
  };
  Texts it(kept);
  std::string bytes;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &bytes);
  CUBIST_CHECK(status.ok(), "sentencepiece: training ", vocab_size, " pieces on ", kept.size(),
               " captions failed: ", status.ToString(),
               " (the pieces are --pieces of `cubist text tokenizer`, text.pieces of a DiT "
               "config; they must be at least the captions' distinct characters and a few "
               "more)");
  return SentencePieceModel(std::move(bytes), "the trained model");
}

SentencePieceModel::SentencePieceModel(std::string bytes, const std::string& where)
    : bytes_(std::move(bytes)), impl_(std::make_unique<Impl>()) {
  const auto status = impl_->processor.LoadFromSerializedProto(bytes_);
  CUBIST_CHECK(status.ok(), "sentencepiece: ", where, " is not a SentencePiece model (",
               status.ToString(), ")");
  const auto& p = impl_->processor;
  CUBIST_CHECK(p.GetPieceSize() > kEmpty && p.IdToPiece(kPad) == "<pad>" &&
                   p.IdToPiece(kUnk) == "<unk>" && p.IdToPiece(kEmpty) == "<empty>",
               "sentencepiece: ", where,
               " does not start with <pad>, <unk>, <empty> (ids 0, 1, 2); train it with `cubist "
               "text tokenizer --type sentencepiece`");
}

SentencePieceModel::~SentencePieceModel() = default;
SentencePieceModel::SentencePieceModel(SentencePieceModel&&) noexcept = default;
SentencePieceModel& SentencePieceModel::operator=(SentencePieceModel&&) noexcept = default;

std::vector<int32_t> SentencePieceModel::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = impl_->processor.Encode(text, &ids);
  CUBIST_CHECK(status.ok(), "sentencepiece: cannot encode \"", text, "\": ", status.ToString());
  return {ids.begin(), ids.end()};
}

std::vector<std::string> SentencePieceModel::pieces(std::string_view text) const {
  std::vector<std::string> out;
  const auto status = impl_->processor.Encode(text, &out);
  CUBIST_CHECK(status.ok(), "sentencepiece: cannot encode \"", text, "\": ", status.ToString());
  return out;
}

std::string SentencePieceModel::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  const auto status = impl_->processor.Decode(std::vector<int>(ids.begin(), ids.end()), &out);
  CUBIST_CHECK(status.ok(), "sentencepiece: cannot decode: ", status.ToString());
  return out;
}

int64_t SentencePieceModel::size() const { return impl_->processor.GetPieceSize(); }

std::string SentencePieceModel::piece(int32_t id) const { return impl_->processor.IdToPiece(id); }

}  // namespace cubist::text
