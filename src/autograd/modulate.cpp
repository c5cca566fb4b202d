#include "autograd/modulate.h"

#include "ops/modulate.h"

namespace cubist {

Var modulate(const Var& x, const Var& shift, const Var& scale) {
  return record(
      "modulate", ops::modulate(x.value(), shift.value(), scale.value()), {x, shift, scale},
      [xv = x.value(), sc = scale.value(), gx = x.requires_grad(), gsh = shift.requires_grad(),
       gsc = scale.requires_grad()](const Tensor& gy) {
        ops::ModulateGrads g = ops::modulate_backward(gy.contiguous(), xv, sc, gx, gsh, gsc);
        return Grads{g.dx, g.dshift, g.dscale};
      });
}

Var gate_residual(const Var& x, const Var& gate, const Var& y) {
  return record(
      "gate_residual", ops::gate_residual(x.value(), gate.value(), y.value()), {x, gate, y},
      [gv = gate.value(), yv = y.value(), gg = gate.requires_grad(),
       gy = y.requires_grad()](const Tensor& gout) {
        ops::GateResidualGrads g = ops::gate_residual_backward(gout.contiguous(), gv, yv, gg, gy);
        return Grads{g.dx, g.dgate, g.dy};
      });
}

Var layer_norm_modulate(const Var& x, const Var& shift, const Var& scale, float eps) {
  ops::LayerNormModulateResult r =
      ops::layer_norm_modulate(x.value(), shift.value(), scale.value(), eps);
  return record("layer_norm_modulate", r.y, {x, shift, scale},
                [xv = x.value(), sc = scale.value(), mean = r.mean, rstd = r.rstd,
                 gsh = shift.requires_grad(), gsc = scale.requires_grad()](const Tensor& gy) {
                  ops::LayerNormModulateGrads g = ops::layer_norm_modulate_backward(
                      gy.contiguous(), xv, sc, mean, rstd, gsh, gsc);
                  return Grads{g.dx, g.dshift, g.dscale};
                });
}

}  // namespace cubist
