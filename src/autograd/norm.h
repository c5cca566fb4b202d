// Differentiable row normalisation over the last dimension: layer_norm and rms_norm.
#pragma once

#include "autograd/var.h"

namespace cubist {

// weight and bias are [D] or undefined Vars (Var()): DiT's norms before modulation have neither.
Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps = 1e-6f);
// weight is [D] or undefined. For QK normalisation, x[S, H, Dh] is normalised over Dh.
Var rms_norm(const Var& x, const Var& weight, float eps = 1e-6f);

}  // namespace cubist
