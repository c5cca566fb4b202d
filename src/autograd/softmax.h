// Differentiable softmax over the last dimension.
#pragma once

#include "autograd/var.h"

namespace cubist {

Var softmax(const Var& x);

}  // namespace cubist
