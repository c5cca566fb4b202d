// The transformer's feed-forward network: Linear -> GELU (tanh approximation) -> Linear.
#pragma once

#include "nn/linear.h"

namespace cubist {

class Mlp : public Module {
 public:
  Mlp(int64_t dim, int64_t hidden, Generator& gen);
  Var forward(const Var& x) const;

 private:
  Linear fc1_, fc2_;
};

}  // namespace cubist
