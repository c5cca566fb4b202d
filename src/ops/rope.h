// Rotary position embedding over three axes (time, height, width) for spacetime tokens.
//
// x [S, H, D]; positions [S, 3] (f32: t, h, w of each token; fractional positions are allowed,
// e.g. for resolution-scaled grids); sections {dt, dh, dw}, each even, dt + dh + dw = D.
// The head dim is cut into three consecutive sections [0, dt), [dt, dt + dh), [dt + dh, D); the
// section of axis a (size d_a) is rotated by that axis's position p_a.
//
// Convention ("interleaved" pairs, as in the original RoFormer and Meta's Llama code, not the
// "rotate-half" layout of GPT-NeoX/HF Llama): within a section starting at column o, pair i
// (i = 0 .. d_a/2 - 1) is the two adjacent columns (o + 2i, o + 2i + 1), rotated by the angle
//   phi = p_a · theta^(-2i / d_a):
//   y[o + 2i]     = x[o + 2i] · cos(phi) - x[o + 2i + 1] · sin(phi)
//   y[o + 2i + 1] = x[o + 2i] · sin(phi) + x[o + 2i + 1] · cos(phi)
// The same rotation is applied to every head. Angles are computed in double precision.
// The backward is the inverse rotation (by -phi); positions receive no gradient.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace cubist::ops {

Tensor rope3d_forward(const Tensor& x, const Tensor& positions,
                      const std::array<int64_t, 3>& sections, float theta = 10000.0f);
// dx from dy: the inverse rotation.
Tensor rope3d_backward(const Tensor& dy, const Tensor& positions,
                       const std::array<int64_t, 3>& sections, float theta = 10000.0f);

}  // namespace cubist::ops
