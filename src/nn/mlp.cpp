#include "nn/mlp.h"

#include "autograd/activation.h"
#include "autograd/matmul.h"

namespace cubist {

Mlp::Mlp(int64_t dim, int64_t hidden, Generator& gen) : fc1_(dim, hidden, gen), fc2_(hidden, dim, gen) {
  child("fc1", fc1_);
  child("fc2", fc2_);
}

Var Mlp::forward(const Var& x) const { return fc2_.forward(gelu(fc1_.forward(x))); }

}  // namespace cubist
