// Group normalisation (the video autoencoder's norm), forward and backward, on contiguous f32.
// x is [B, C, ...] (any number of trailing spatial dimensions, possibly none); its C channels are
// split into G groups of C/G consecutive channels, and each (batch item, group) is normalised over
// its C/G * S elements (S = product of the spatial sizes) with its biased variance:
//   y = (x - mean) * rstd * w[c] + b[c],   rstd = 1 / sqrt(var + eps),
// as torch.nn.functional.group_norm. Sums are taken in double over fixed-size blocks of float
// partial sums, so results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace cubist::ops {

struct GroupNormOut {
  Tensor y;           // x's shape
  Tensor mean, rstd;  // [B, G], kept for the backward pass
};

// w and b are [C].
GroupNormOut group_norm(const Tensor& x, int64_t groups, const Tensor& w, const Tensor& b,
                        float eps = 1e-6f);

struct GroupNormGrads {
  Tensor dx, dw, db;  // dx undefined unless need_dx; dw and db undefined unless need_affine
};

// With xhat = (x - mean) * rstd and g = dy * w[c], over the n = C/G * S elements of a group:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
//   dw[c] = sum over b and space of dy * xhat,   db[c] = sum over b and space of dy.
GroupNormGrads group_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, int64_t groups, const Tensor& w,
                                   bool need_dx, bool need_affine);

}  // namespace cubist::ops
