#include "models/dit/block.h"

#include "autograd/activation.h"
#include "autograd/basic.h"
#include "autograd/modulate.h"

namespace cubist {

DiTBlock::DiTBlock(const DiTBlockConfig& config, Generator& gen)
    : config_(config),
      ada_(config.hidden, 6 * config.hidden, gen),
      attn_({.dim = config.hidden,
             .heads = config.heads,
             .qk_norm = config.qk_norm,
             .rope = config.rope},
            gen),
      mlp_(config.hidden, static_cast<int64_t>(config.hidden * config.mlp_ratio), gen) {
  ada_.weight().value().zero_();  // adaLN-Zero
  child("ada", ada_);
  child("attn", attn_);
  child("mlp", mlp_);
}

Var DiTBlock::forward(const Var& x, const Var& c, const Tensor& positions) const {
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

}  // namespace cubist
