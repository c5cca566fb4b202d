#include "nn/cross_attention.h"

#include "autograd/attention.h"
#include "autograd/basic.h"
#include "autograd/norm.h"
#include "core/error.h"

namespace cubist {

CrossAttention::CrossAttention(const CrossAttentionConfig& config, Generator& gen)
    : config_(config),
      q_(config.dim, config.dim, gen),
      kv_(config.context_dim, 2 * config.dim, gen),
      proj_(config.dim, config.dim, gen) {
  CUBIST_CHECK(config.heads > 0 && config.dim % config.heads == 0, "cross-attention: dim ",
               config.dim, " must be a multiple of heads ", config.heads);
  child("q", q_);
  child("kv", kv_);
  child("proj", proj_);
  if (config.qk_norm) {
    q_norm_ = param("q_norm.weight", Tensor::full({config.dim / config.heads}, 1.0f), false);
    k_norm_ = param("k_norm.weight", Tensor::full({config.dim / config.heads}, 1.0f), false);
  }
}

Var CrossAttention::forward(const Var& x, const Var& context, const std::vector<int64_t>& seqlens_q,
                            const std::vector<int64_t>& seqlens_kv) const {
  CUBIST_CHECK(seqlens_q.size() == seqlens_kv.size(), "cross-attention: ", seqlens_q.size(),
               " query sequences but ", seqlens_kv.size(), " context sequences");
  const int64_t s = x.size(0), sc = context.size(0), h = config_.heads, dh = config_.dim / h;
  Var q = reshape(q_.forward(x), {s, h, dh});
  Var kv = reshape(kv_.forward(context), {sc, 2, h, dh});
  Var k = reshape(slice(kv, 1, 0, 1), {sc, h, dh});
  Var v = reshape(slice(kv, 1, 1, 2), {sc, h, dh});
  if (config_.qk_norm) {
    q = rms_norm(q, q_norm_);
    k = rms_norm(k, k_norm_);
  }
  Var o = attention(q, k, v, seqlens_q, seqlens_kv);
  return proj_.forward(reshape(o, {s, config_.dim}));
}

}  // namespace cubist
