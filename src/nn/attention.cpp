#include "nn/attention.h"

#include "autograd/attention.h"
#include "autograd/basic.h"
#include "autograd/norm.h"
#include "autograd/rope.h"
#include "core/error.h"

namespace cubist {

std::array<int64_t, 3> default_rope_sections(int64_t head_dim) {
  const int64_t hw = head_dim / 3 / 2 * 2;
  return {head_dim - 2 * hw, hw, hw};
}

SelfAttention::SelfAttention(const AttentionConfig& config, Generator& gen)
    : config_(config), qkv_(config.dim, 3 * config.dim, gen), proj_(config.dim, config.dim, gen) {
  CUBIST_CHECK(config.heads > 0 && config.dim % config.heads == 0, "attention: dim ", config.dim,
               " must be a multiple of heads ", config.heads);
  CUBIST_CHECK(!config.rope || (config.dim / config.heads) % 2 == 0,
               "attention: rotary positions turn pairs of a head's dims, so a head's dims (dim ",
               config.dim, " / heads ", config.heads, " = ", config.dim / config.heads,
               ") must be even; choose dim and heads whose quotient is even");
  if (config_.rope && config_.rope_sections == std::array<int64_t, 3>{0, 0, 0})
    config_.rope_sections = default_rope_sections(config.dim / config.heads);
  child("qkv", qkv_);
  child("proj", proj_);
  if (config.qk_norm) {
    q_norm_ = param("q_norm.weight", Tensor::full({config.dim / config.heads}, 1.0f), false);
    k_norm_ = param("k_norm.weight", Tensor::full({config.dim / config.heads}, 1.0f), false);
  }
}

Var SelfAttention::forward(const Var& x, const Tensor& positions,
                           const std::vector<int64_t>& seqlens) const {
  const int64_t s = x.size(0), h = config_.heads, dh = config_.dim / h;
  Var qkv = reshape(qkv_.forward(x), {s, 3, h, dh});
  Var q = reshape(slice(qkv, 1, 0, 1), {s, h, dh});
  Var k = reshape(slice(qkv, 1, 1, 2), {s, h, dh});
  Var v = reshape(slice(qkv, 1, 2, 3), {s, h, dh});
  if (config_.qk_norm) {
    q = rms_norm(q, q_norm_);
    k = rms_norm(k, k_norm_);
  }
  if (config_.rope) {
    CUBIST_CHECK(positions.defined() && positions.shape() == Dims({s, 3}),
                 "attention: RoPE needs positions [", s, ", 3], got ",
                 positions.defined() ? positions.shape().str() : "none");
    q = rope3d(q, positions, config_.rope_sections, config_.rope_theta);
    k = rope3d(k, positions, config_.rope_sections, config_.rope_theta);
  }
  Var o = attention(q, k, v, seqlens, seqlens);
  return proj_.forward(reshape(o, {s, config_.dim}));
}

}  // namespace cubist
