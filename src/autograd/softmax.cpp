#include "autograd/softmax.h"

#include "ops/softmax.h"

namespace cubist {

Var softmax(const Var& x) {
  Tensor y = ops::softmax(x.value());
  // The backward needs only the output, so x is not kept alive.
  return record("softmax", y, {x},
                [y](const Tensor& gy) { return Grads{ops::softmax_backward(gy.contiguous(), y)}; });
}

}  // namespace cubist
