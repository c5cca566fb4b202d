// Differentiable losses.
#pragma once

#include "autograd/var.h"

namespace cubist {

// mean((pred - target)^2), a one-element Var; throws Error when the loss is NaN or Inf.
Var mse_loss(const Var& pred, const Var& target);

}  // namespace cubist
