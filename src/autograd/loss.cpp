#include "autograd/loss.h"

#include "ops/loss.h"

namespace cubist {

Var mse_loss(const Var& pred, const Var& target) {
  return record("mse_loss", ops::mse_loss(pred.value(), target.value()), {pred, target},
                [pv = pred.value(), tv = target.value(), gp = pred.requires_grad(),
                 gt = target.requires_grad()](const Tensor& g) {
                  ops::MseLossGrads r = ops::mse_loss_backward(g, pv, tv, gp, gt);
                  return Grads{r.dpred, r.dtarget};
                });
}

}  // namespace cubist
