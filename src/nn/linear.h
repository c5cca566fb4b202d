// Linear layer y = x·Wᵀ + b, W [out, in] as in torch.nn.Linear; Xavier-uniform weights, zero bias.
#pragma once

#include "nn/module.h"

namespace cubist {

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, Generator& gen, bool bias = true);
  Var forward(const Var& x) const;
  Var& weight() { return weight_; }
  Var& bias() { return bias_; }
  const Var& weight() const { return weight_; }
  const Var& bias() const { return bias_; }

 private:
  Var weight_, bias_;
};

}  // namespace cubist
