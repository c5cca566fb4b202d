// Differentiable three-axis rotary position embedding (see ops/rope.h for the convention).
#pragma once

#include <array>
#include <cstdint>

#include "autograd/var.h"

namespace cubist {

// x [S, H, D] rotated per token by its (t, h, w) positions [S, 3]; sections {dt, dh, dw} split D.
// positions are data, not differentiated.
Var rope3d(const Var& x, const Tensor& positions, std::array<int64_t, 3> sections,
           float theta = 10000.0f);

}  // namespace cubist
