// Differentiable matrix products over Vars (kernels in ops/matmul.h).
#pragma once

#include "autograd/var.h"

namespace cubist {

// y[..., N] = x[..., K] * w[N, K]^T + b[N]; `b` may be an undefined Var (no bias).
Var linear(const Var& x, const Var& w, const Var& b = Var());
// y[B.., M, N] = a[B.., M, K] * b[B.., K, N]; b may also be 2-d [K, N], shared by the batch.
Var matmul(const Var& a, const Var& b);

}  // namespace cubist
