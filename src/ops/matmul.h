// Matrix products on contiguous f32 tensors, forward beside backward, all through ops::gemm:
//   linear: y[..., N] = x[..., K] * W[N, K]^T + b[N]   (W laid out as torch.nn.Linear's weight)
//   matmul: y[B.., M, N] = a[B.., M, K] * b[B.., K, N]  (b may also be 2-d, shared by the batch)
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

// `b` may be undefined (no bias).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

struct LinearGrads {
  Tensor dx, dw, db;  // undefined where not asked for (and db without a bias)
};
// dy has y's shape. need_db is only honoured with a bias: the caller passes has_bias && wanted.
LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool need_dx,
                            bool need_dw, bool need_db);

Tensor matmul(const Tensor& a, const Tensor& b);

struct MatmulGrads {
  Tensor da, db;  // undefined where not asked for
};
MatmulGrads matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b, bool need_da,
                            bool need_db);

}  // namespace cubist::ops
