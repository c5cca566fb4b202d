// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam moments with the
// weight decay applied to the weights directly, not through the gradient. Plus global-norm
// gradient clipping, which scales all gradients together when their joint L2 norm is too large.
#pragma once

#include <string>
#include <vector>

#include "autograd/var.h"
#include "io/safetensors.h"
#include "nn/module.h"

namespace cubist {

struct AdamWConfig {
  float lr = 1e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

class AdamW {
 public:
  AdamW(std::vector<NamedParam> params, AdamWConfig config);

  // One update from the parameters' accumulated gradients (a parameter with no gradient is
  // skipped). lr overrides config.lr when positive (for schedules).
  void step(float lr = -1.0f);
  void zero_grad();
  int64_t steps() const { return step_; }
  const AdamWConfig& config() const { return config_; }
  const std::vector<NamedParam>& params() const { return params_; }

  // The moments, for checkpoints: "adam.m.<name>", "adam.v.<name>"; the step count travels in
  // the checkpoint's metadata.
  NamedTensors state() const;
  void load_state(const SafeTensors& file, int64_t step);

 private:
  std::vector<NamedParam> params_;
  std::vector<Tensor> m_, v_;
  AdamWConfig config_;
  int64_t step_ = 0;
};

// Scales every gradient by min(1, max_norm / total_norm) and returns total_norm, the L2 norm of
// all gradients together. A non-finite norm throws Error (a NaN or Inf gradient would destroy the
// weights); max_norm <= 0 only measures.
float clip_grad_norm(const std::vector<NamedParam>& params, float max_norm);

}  // namespace cubist
