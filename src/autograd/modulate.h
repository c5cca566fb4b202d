// Differentiable adaLN modulation of DiT: x[B, N, D] with per-sample shift, scale, gate [B, D].
#pragma once

#include "autograd/var.h"

namespace cubist {

Var modulate(const Var& x, const Var& shift, const Var& scale);  // x * (1 + scale) + shift
Var gate_residual(const Var& x, const Var& gate, const Var& y);  // x + gate * y
// modulate(layer_norm(x, no affine, eps), shift, scale), fused: one pass per row each way.
Var layer_norm_modulate(const Var& x, const Var& shift, const Var& scale, float eps = 1e-6f);

}  // namespace cubist
