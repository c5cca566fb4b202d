#include "autograd/activation.h"

#include "ops/activation.h"

namespace cubist {

Var gelu(const Var& x) {
  return record("gelu", ops::gelu(x.value()), {x}, [xv = x.value()](const Tensor& gy) {
    return Grads{ops::gelu_backward(gy.contiguous(), xv)};
  });
}

Var silu(const Var& x) {
  return record("silu", ops::silu(x.value()), {x}, [xv = x.value()](const Tensor& gy) {
    return Grads{ops::silu_backward(gy.contiguous(), xv)};
  });
}

Var bias_gelu(const Var& x, const Var& b) {
  return record("bias_gelu", ops::bias_gelu(x.value(), b.value()), {x, b},
                [xv = x.value(), bv = b.value(), gb = b.requires_grad()](const Tensor& gy) {
                  ops::BiasGeluGrads g = ops::bias_gelu_backward(gy.contiguous(), xv, bv, gb);
                  return Grads{g.dx, g.db};
                });
}

}  // namespace cubist
