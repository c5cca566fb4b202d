// Activation kernels, forward beside backward, on contiguous f32 tensors: GELU with the tanh
// approximation (torch's approximate="tanh", as DiT's MLP uses), SiLU, and the MLP's fused
// bias + GELU.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
Tensor gelu(const Tensor& x);
Tensor gelu_backward(const Tensor& dy, const Tensor& x);  // dx

// silu(x) = x * sigmoid(x)
Tensor silu(const Tensor& x);
Tensor silu_backward(const Tensor& dy, const Tensor& x);  // dx

// y = gelu(x[..., D] + b[D]) in one pass (x + b is never stored).
Tensor bias_gelu(const Tensor& x, const Tensor& b);

struct BiasGeluGrads {
  Tensor dx;  // [..., D]
  Tensor db;  // [D]: sum over rows of dx; undefined unless asked for
};
BiasGeluGrads bias_gelu_backward(const Tensor& dy, const Tensor& x, const Tensor& b, bool need_db);

}  // namespace cubist::ops
