// Differentiable group normalisation over Vars (semantics in ops/group_norm.h).
#pragma once

#include "autograd/var.h"

namespace cubist {

// x [B, C, ...], G = groups dividing C, affine w and b [C].
Var group_norm(const Var& x, int64_t groups, const Var& w, const Var& b, float eps = 1e-6f);

}  // namespace cubist
