// Differentiable activations: GELU (tanh approximation), SiLU, and the MLP's fused bias + GELU.
#pragma once

#include "autograd/var.h"

namespace cubist {

Var gelu(const Var& x);                     // torch's gelu(x, approximate="tanh")
Var silu(const Var& x);                     // x * sigmoid(x)
Var bias_gelu(const Var& x, const Var& b);  // gelu(x[..., D] + b[D])

}  // namespace cubist
