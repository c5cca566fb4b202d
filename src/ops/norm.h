// Row normalisation kernels, forward beside backward: layer_norm and rms_norm over the last
// dimension of a contiguous f32 tensor x[..., D]. The forward passes return the per-row statistics
// (mean and 1/std) that the backward passes reuse instead of recomputing.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

struct LayerNormResult {
  Tensor y;     // [..., D]
  Tensor mean;  // [rows], rows = numel / D
  Tensor rstd;  // [rows]: 1 / sqrt(var + eps), var the biased variance of the row
};

struct LayerNormGrads {
  Tensor dx;       // [..., D]
  Tensor dweight;  // [D], undefined unless asked for
  Tensor dbias;    // [D], undefined unless asked for
};

// y = (x - mean) * rstd * weight + bias; weight and bias are [D] or undefined (no affine part).
LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                           float eps = 1e-6f);
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, bool need_dweight,
                                   bool need_dbias);

struct RmsNormResult {
  Tensor y;     // [..., D]
  Tensor rstd;  // [rows]: 1 / sqrt(mean(x^2) + eps)
};

struct RmsNormGrads {
  Tensor dx;       // [..., D]
  Tensor dweight;  // [D], undefined unless asked for
};

// y = x * rstd * weight; weight is [D] or undefined.
RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);
RmsNormGrads rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                               const Tensor& rstd, bool need_dweight);

namespace detail {
// Checks x[..., D] and returns D; shared with the fused norm kernels.
int64_t check_rows(const char* op, const Tensor& x);
// Checks that an optional per-feature parameter p is undefined or an f32 [D].
void check_feature_param(const char* op, const char* arg, const Tensor& p, int64_t d);
// Checks the saved per-row statistic `s` of x.
void check_row_stat(const char* op, const char* arg, const Tensor& s, int64_t rows);
}  // namespace detail

}  // namespace cubist::ops
