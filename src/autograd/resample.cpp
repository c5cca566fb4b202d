#include "autograd/resample.h"

namespace cubist {

Var resize(const Var& x, const Dims& size, ResizeMode mode) {
  return record("resize", ops::resize(x.value().contiguous(), size, mode), {x},
                [shape = x.shape(), mode](const Tensor& g) {
                  return Grads{ops::resize_backward(g.contiguous(), shape, mode)};
                });
}

}  // namespace cubist
