// Differentiable 3-D convolution over Vars (see ops/conv3d.h for the exact semantics: padding
// modes, output sizes, determinism).
#pragma once

#include "autograd/var.h"
#include "ops/conv3d.h"

namespace cubist {

using ops::Conv3dParams;
using ops::TimePadding;

// y = conv3d(x, w) + b: x [B, Ci, T, H, W], w [Co, Ci, kt, kh, kw], b [Co] or an undefined Var
// (no bias). Gradients flow to whichever of x, w, b require them.
Var conv3d(const Var& x, const Var& w, const Var& b, const Conv3dParams& p,
           ops::ConvAlgo algo = ops::ConvAlgo::kOneDnn);

}  // namespace cubist
