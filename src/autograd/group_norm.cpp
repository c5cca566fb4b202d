#include "autograd/group_norm.h"

#include "ops/group_norm.h"

namespace cubist {

Var group_norm(const Var& x, int64_t groups, const Var& w, const Var& b, float eps) {
  const Tensor xv = x.value().contiguous(), wv = w.value().contiguous();
  ops::GroupNormOut o = ops::group_norm(xv, groups, wv, b.value().contiguous(), eps);
  const bool need_dx = x.requires_grad();
  const bool need_affine = w.requires_grad() || b.requires_grad();
  return record(
      "group_norm", o.y, {x, w, b},
      [xv, wv, mean = o.mean, rstd = o.rstd, groups, need_dx, need_affine](const Tensor& g) {
        ops::GroupNormGrads d = ops::group_norm_backward(g.contiguous(), xv, mean, rstd, groups, wv,
                                                         need_dx, need_affine);
        return Grads{d.dx, d.dw, d.db};
      });
}

}  // namespace cubist
