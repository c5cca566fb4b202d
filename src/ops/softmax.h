// Softmax over the last dimension of a contiguous f32 tensor, forward beside backward.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

// y = exp(x - max) / sum(exp(x - max)) per row: the max is subtracted so exp never overflows.
Tensor softmax(const Tensor& x);
// dx = y * (dy - sum(dy * y)) per row, from the forward's output y.
Tensor softmax_backward(const Tensor& dy, const Tensor& y);

}  // namespace cubist::ops
