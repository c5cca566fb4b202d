// The Adam update of one tensor (Kingma & Ba, "Adam: A Method for Stochastic Optimization",
// Algorithm 1), with a decoupled weight decay (AdamW): what train/AdamW applies to every
// parameter, and what refines a latent (models/vae/refine.h).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace cubist::ops {

struct AdamStep {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float decay = 1.0f;  // the weights are multiplied by it first (1 - lr * weight_decay)
  int64_t step = 1;    // the 1-based count of updates, for the moments' bias corrections
};

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// w = w * decay - lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps).
// All four tensors contiguous f32 of one shape.
void adam_update_(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s);

}  // namespace cubist::ops
