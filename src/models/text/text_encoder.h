// The text encoder trained with the diffusion model: token embedding, then pre-norm transformer
// layers (LayerNorm -> self-attention with QK normalisation and rotary positions over the word
// index -> residual; LayerNorm -> MLP -> residual), then a final LayerNorm. Several prompts are
// packed back to back and each attends only to itself. Output: one vector per token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nn/attention.h"
#include "nn/mlp.h"

namespace cubist::text {

struct TextEncoderConfig {
  int64_t vocab = 0;  // the tokenizer's vocab_size()
  int64_t dim = 64;
  int64_t depth = 2;
  int64_t heads = 4;
  float mlp_ratio = 4.0f;
  bool qk_norm = true;
};

// LayerNorm with a learned gain and bias over the last dimension.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim);
  Var forward(const Var& x) const;

 private:
  Var weight_, bias_;
};

class TextLayer : public Module {
 public:
  TextLayer(const TextEncoderConfig& config, Generator& gen);
  // x [S, D]; positions [S, 3] = (word index, 0, 0); seqlens: the prompts' lengths.
  Var forward(const Var& x, const Tensor& positions, const std::vector<int64_t>& seqlens) const;

 private:
  LayerNorm norm1_, norm2_;
  SelfAttention attn_;
  Mlp mlp_;
};

class TextEncoder : public Module {
 public:
  TextEncoder(const TextEncoderConfig& config, Generator& gen);
  // tokens: several prompts back to back, of lengths `lengths` (each >= 1) -> [sum lengths, dim].
  Var forward(std::span<const int32_t> tokens, const std::vector<int64_t>& lengths) const;
  const TextEncoderConfig& config() const { return config_; }

 private:
  TextEncoderConfig config_;
  Var embed_;  // [vocab, dim]
  std::vector<std::unique_ptr<TextLayer>> layers_;
  LayerNorm norm_;
};

}  // namespace cubist::text
