#include "models/dit/block.h"

#include "autograd/activation.h"
#include "autograd/basic.h"
#include "autograd/embedding.h"
#include "autograd/modulate.h"
#include "autograd/norm.h"
#include "core/error.h"

namespace cubist {

DiTBlock::DiTBlock(const DiTBlockConfig& config, Generator& gen)
    : config_(config),
      ada_(config.hidden, 6 * config.hidden, gen),
      attn_({.dim = config.hidden,
             .heads = config.heads,
             .qk_norm = config.qk_norm,
             .rope = config.rope,
             .rope_theta = config.rope_theta},
            gen),
      mlp_(config.hidden, static_cast<int64_t>(config.hidden * config.mlp_ratio), gen) {
  ada_.weight().value().zero_();  // adaLN-Zero
  child("ada", ada_);
  child("attn", attn_);
  child("mlp", mlp_);
  if (config.cross_attention) {
    cross_ = std::make_unique<CrossAttention>(
        CrossAttentionConfig{.dim = config.hidden,
                             .context_dim = config.context_dim ? config.context_dim : config.hidden,
                             .heads = config.heads,
                             .qk_norm = config.qk_norm},
        gen);
    cross_->proj().weight().value().zero_();  // the block still starts as the identity
    child("cross", *cross_);
  }
}

Var DiTBlock::forward(const Var& x, const Var& c, const Tensor& positions) const {
  CUBIST_CHECK(!cross_,
               "DiT block: a block with cross-attention runs with forward_packed, which "
               "takes the text");
  const int64_t b = x.size(0), n = x.size(1), d = config_.hidden;
  Var mod = ada_.forward(silu(c));  // [B, 6D]
  auto chunk = [&](int i) { return slice(mod, 1, i * d, (i + 1) * d); };
  const std::vector<int64_t> seqlens(static_cast<size_t>(b), n);

  Var h = layer_norm_modulate(x, chunk(0), chunk(1));
  h = attn_.forward(reshape(h, {b * n, d}), positions, seqlens);
  Var y = gate_residual(x, chunk(2), reshape(h, {b, n, d}));

  h = layer_norm_modulate(y, chunk(3), chunk(4));
  h = mlp_.forward(h);
  return gate_residual(y, chunk(5), h);
}

ClipRows clip_rows(const Var& rows, const std::vector<int64_t>& seqlens,
                   const std::vector<int32_t>& clip_of_token, int64_t dim) {
  const int64_t s = static_cast<int64_t>(clip_of_token.size());
  const int64_t b = static_cast<int64_t>(seqlens.size());
  CUBIST_CHECK(rows.dim() == 2 && rows.size(0) == b, "DiT: ", b, " clips but conditioning rows ",
               rows.shape());
  bool uniform = true;
  for (int64_t n : seqlens) uniform &= n == seqlens[0];
  if (uniform) return {rows, {b, s / b, dim}};
  return {embedding(rows, clip_of_token), {s, 1, dim}};
}

// The computation of forward(), with each clip's modulation applied to its own tokens.
Var DiTBlock::forward_packed(const Var& x, const Var& c, const PackedSeq& seq,
                             const Var& context) const {
  const int64_t s = x.size(0), d = config_.hidden;
  CUBIST_CHECK(x.dim() == 2 && x.size(1) == d && seq.clip_of_token && seq.seqlens &&
                   seq.positions && static_cast<int64_t>(seq.clip_of_token->size()) == s,
               "DiT block: packed x must be [S, ", d, "] with one clip index per token, got ",
               x.shape());
  CUBIST_CHECK(!cross_ || (context.defined() && seq.context_lens),
               "DiT block: cross-attention needs the text tokens and their lengths");
  const ClipRows mod = clip_rows(ada_.forward(silu(c)), *seq.seqlens, *seq.clip_of_token, d);
  auto chunk = [&](int i) { return slice(mod.rows, 1, i * d, (i + 1) * d); };

  Var x3 = reshape(x, mod.view);
  Var h = layer_norm_modulate(x3, chunk(0), chunk(1));
  h = attn_.forward(reshape(h, {s, d}), *seq.positions, *seq.seqlens);
  Var y = gate_residual(x3, chunk(2), reshape(h, mod.view));

  if (cross_) {
    Var yn = layer_norm(reshape(y, {s, d}), Var(), Var());
    h = cross_->forward(yn, context, *seq.seqlens, *seq.context_lens);
    y = add(y, reshape(h, mod.view));
  }

  h = layer_norm_modulate(y, chunk(3), chunk(4));
  h = mlp_.forward(h);
  return reshape(gate_residual(y, chunk(5), h), {s, d});
}

}  // namespace cubist
