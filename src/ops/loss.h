// Losses, forward beside backward, and the finiteness check that training loops share.
#pragma once

#include "core/tensor.h"

namespace cubist::ops {

// Throws Error unless every element of t is finite. The message begins with `what` (say
// "mse_loss: the loss" or "train: gradient of blocks.3.attn.qkv") and says which values were bad:
// "mse_loss: the loss is NaN" for one element, "... has 3 non-finite values of 4096 (first: element
// 17 is inf)" for more.
void check_finite(const Tensor& t, const char* what);

// mean((pred - target)^2) over all elements, a one-element tensor (shape []). The sum is taken in
// f64 in a fixed order. A loss that comes out NaN or Inf throws Error saying so and why (a
// non-finite input, or an overflow).
Tensor mse_loss(const Tensor& pred, const Tensor& target);

struct MseLossGrads {
  Tensor dpred;    // g * 2 (pred - target) / n
  Tensor dtarget;  // -dpred
  // Each is undefined unless asked for.
};
// g: the gradient of the loss (a one-element tensor).
MseLossGrads mse_loss_backward(const Tensor& g, const Tensor& pred, const Tensor& target,
                               bool need_dpred, bool need_dtarget);

}  // namespace cubist::ops
