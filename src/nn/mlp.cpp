#include "nn/mlp.h"

#include "autograd/activation.h"
#include "autograd/matmul.h"

namespace cubist {

Mlp::Mlp(int64_t dim, int64_t hidden, Generator& gen)
    : fc1_(dim, hidden, gen), fc2_(hidden, dim, gen) {
  child("fc1", fc1_);
  child("fc2", fc2_);
}

// fc1's bias is added inside the GELU kernel (one pass over the wide hidden activations).
Var Mlp::forward(const Var& x) const {
  return fc2_.forward(bias_gelu(linear(x, fc1_.weight()), fc1_.bias()));
}

}  // namespace cubist
