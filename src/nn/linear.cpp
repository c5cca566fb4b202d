#include "nn/linear.h"

#include "autograd/matmul.h"

namespace cubist {

Linear::Linear(int64_t in, int64_t out, Generator& gen, bool bias) {
  weight_ = param("weight", xavier_uniform({out, in}, gen));
  if (bias) bias_ = param("bias", Tensor::zeros({out}), false);
}

Var Linear::forward(const Var& x) const { return linear(x, weight_, bias_); }

}  // namespace cubist
