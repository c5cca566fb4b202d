#include "autograd/rope.h"

#include "ops/rope.h"

namespace cubist {

Var rope3d(const Var& x, const Tensor& positions, std::array<int64_t, 3> sections, float theta) {
  const Tensor pos = positions.defined() ? positions.contiguous() : positions;
  return record("rope3d", ops::rope3d_forward(x.value().contiguous(), pos, sections, theta), {x},
                [pos, sections, theta](const Tensor& g) {
                  return Grads{ops::rope3d_backward(g.contiguous(), pos, sections, theta)};
                });
}

}  // namespace cubist
