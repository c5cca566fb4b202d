// Elementwise kernels and reductions on contiguous f32 tensors of equal shapes.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float s);
void add_(Tensor& a, const Tensor& b);            // a += b
void axpy_(Tensor& a, float s, const Tensor& b);  // a += s * b
void scale_(Tensor& a, float s);                  // a *= s
double sum(const Tensor& a);                      // in f64, in a fixed order
double sum_squares(const Tensor& a);
// Row-wise bias: x[..., D] + b[D].
Tensor add_bias(const Tensor& x, const Tensor& b);
// Sum over all leading dimensions: x[..., D] -> [D] (the gradient of a broadcast bias).
Tensor sum_rows(const Tensor& x);
// True when every element is finite.
bool all_finite(const Tensor& a);

}  // namespace cubist::ops
