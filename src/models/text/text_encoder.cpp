#include "models/text/text_encoder.h"

#include <string>

#include "autograd/basic.h"
#include "autograd/embedding.h"
#include "autograd/norm.h"
#include "core/error.h"

namespace cubist::text {

LayerNorm::LayerNorm(int64_t dim) {
  weight_ = param("weight", Tensor::full({dim}, 1.0f), false);
  bias_ = param("bias", Tensor::zeros({dim}), false);
}

Var LayerNorm::forward(const Var& x) const { return layer_norm(x, weight_, bias_); }

TextLayer::TextLayer(const TextEncoderConfig& c, Generator& gen)
    : norm1_(c.dim),
      norm2_(c.dim),
      // Rotary positions over the whole head dim, on the first axis only: 1-D RoPE.
      attn_({.dim = c.dim,
             .heads = c.heads,
             .qk_norm = c.qk_norm,
             .rope = true,
             .rope_sections = {c.dim / c.heads, 0, 0}},
            gen),
      mlp_(c.dim, static_cast<int64_t>(static_cast<float>(c.dim) * c.mlp_ratio), gen) {
  child("norm1", norm1_);
  child("attn", attn_);
  child("norm2", norm2_);
  child("mlp", mlp_);
}

Var TextLayer::forward(const Var& x, const Tensor& positions,
                       const std::vector<int64_t>& seqlens) const {
  Var h = add(x, attn_.forward(norm1_.forward(x), positions, seqlens));
  return add(h, mlp_.forward(norm2_.forward(h)));
}

TextEncoder::TextEncoder(const TextEncoderConfig& config, Generator& gen)
    : config_(config), norm_(config.dim) {
  CUBIST_CHECK(config.vocab > 0 && config.dim > 0 && config.depth >= 0 && config.heads > 0 &&
                   config.dim % config.heads == 0 && (config.dim / config.heads) % 2 == 0,
               "text encoder: needs vocab > 0, depth >= 0 and dim a multiple of heads with an even "
               "head dim; got vocab ",
               config.vocab, ", dim ", config.dim, ", depth ", config.depth, ", heads ",
               config.heads);
  embed_ = param("embed", normal_init({config.vocab, config.dim}, 0.02f, gen), false);
  for (int64_t i = 0; i < config.depth; ++i) {
    layers_.push_back(std::make_unique<TextLayer>(config, gen));
    child("layers." + std::to_string(i), *layers_.back());
  }
  child("norm", norm_);
}

Var TextEncoder::forward(std::span<const int32_t> tokens,
                         const std::vector<int64_t>& lengths) const {
  int64_t total = 0;
  for (int64_t l : lengths) {
    CUBIST_CHECK(l >= 1,
                 "text encoder: every prompt needs at least one token (the empty prompt is "
                 "the <empty> token), got a length of ",
                 l);
    total += l;
  }
  CUBIST_CHECK(total == static_cast<int64_t>(tokens.size()), "text encoder: the lengths sum to ",
               total, " but ", tokens.size(), " tokens were given");
  Tensor pos = Tensor::zeros({total, 3});
  float* p = pos.data<float>();
  int64_t i = 0;
  for (int64_t l : lengths)
    for (int64_t j = 0; j < l; ++j) p[3 * i++] = static_cast<float>(j);
  Var x = embedding(embed_, tokens);
  for (const auto& layer : layers_) x = layer->forward(x, pos, lengths);
  return norm_.forward(x);
}

}  // namespace cubist::text
