// An exponential moving average of the weights (Polyak averaging), which diffusion models sample
// from: the averaged weights give cleaner samples than the last step's. After update n
// (n = 1, 2, ...):
//
//   shadow = d_n * shadow + (1 - d_n) * live,    d_n = min(decay, n / (n + 9))
//
// The warm-up n / (n + 9) (0.1, 0.18, 0.25, ... -> 1) lets the average forget the random
// initial weights within the first steps instead of carrying decay^n of them for thousands of
// steps (with decay 0.999 and no warm-up, a 1000-step run's average would still be 37% the
// initialisation). The shadow starts as a copy of the live weights.
#pragma once

#include <cstdint>
#include <vector>

#include "io/safetensors.h"
#include "nn/module.h"

namespace cubist {

class Ema {
 public:
  // `shadow` (another model of the same architecture) receives the average of `live`; names and
  // shapes must match, in order. decay in [0, 1).
  Ema(std::vector<NamedParam> live, std::vector<NamedParam> shadow, float decay);

  void update();  // one step: the formula above with n = updates() + 1
  int64_t updates() const { return updates_; }
  float decay() const { return decay_; }
  float decay_at(int64_t n) const;  // d_n

  // For checkpoints: "ema.<name>" of every shadow parameter; the update count travels in the
  // checkpoint's metadata (it is the step).
  NamedTensors state() const;
  // Reads "ema.<name>" tensors; a missing tensor or another shape is an Error naming it.
  void load_state(const SafeTensors& file, int64_t updates);

 private:
  std::vector<NamedParam> live_, shadow_;
  float decay_;
  int64_t updates_ = 0;
};

}  // namespace cubist
