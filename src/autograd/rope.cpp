#include "autograd/rope.h"

#include "ops/rope.h"

namespace cubist {

Var rope3d(const Var& x, const Tensor& positions, std::array<int64_t, 3> sections, float theta) {
  return record("rope3d", ops::rope3d_forward(x.value(), positions, sections, theta), {x},
                [positions, sections, theta](const Tensor& g) {
                  return Grads{ops::rope3d_backward(g.contiguous(), positions, sections, theta)};
                });
}

}  // namespace cubist
