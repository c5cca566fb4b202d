// Differentiable resizing over Vars (semantics in ops/resample.h).
#pragma once

#include "autograd/var.h"
#include "ops/resample.h"

namespace cubist {

using ops::ResizeMode;

// x [B, C, T, H, W] (or [B, C, H, W], [B, C, L]) to the spatial sizes `size` ({T', H', W'}, ...).
Var resize(const Var& x, const Dims& size, ResizeMode mode);

}  // namespace cubist
