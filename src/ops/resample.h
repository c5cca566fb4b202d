// Resizing of videos and images (the autoencoder's up- and downsampling), forward and backward, on
// contiguous f32. x is [B, C, ...spatial] with 1, 2 or 3 spatial dimensions ([B, C, T, H, W] for
// video, [B, C, H, W] for images); `size` gives the new spatial sizes, one per spatial dimension.
// Semantics are torch.nn.functional.interpolate(x, size=size, mode=...) with align_corners=False,
// per axis of input length n and output length m, scale = n / m (in float, as PyTorch):
//   kNearest: output i reads input min(floor(i * scale), n - 1) (PyTorch's legacy 'nearest');
//   kLinear:  linear / bilinear / trilinear by rank: src = max(scale * (i + 0.5) - 0.5, 0),
//             i0 = floor(src), i1 = min(i0 + 1, n - 1), weights (1 - (src - i0), src - i0),
//             and the result is the product of the per-axis weights over the 2^d corners.
// Both up- and downsampling work (downsampling by linear interpolation does not average: like
// PyTorch it reads only the two nearest inputs per axis). Calls that pass scale_factor to PyTorch
// agree whenever the factor equals m / n exactly (e.g. 2 or 0.5 on even sizes).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace cubist::ops {

enum class ResizeMode : uint8_t { kNearest, kLinear };

Tensor resize(const Tensor& x, const Dims& size, ResizeMode mode);

// dx for dy = dL/d(resize(x)): each output's gradient is added back to the inputs it read, with
// the same weights. x_shape is the shape of the forward input.
Tensor resize_backward(const Tensor& dy, const Dims& x_shape, ResizeMode mode);

}  // namespace cubist::ops
