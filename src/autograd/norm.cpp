#include "autograd/norm.h"

#include "ops/norm.h"

namespace cubist {

namespace {
// The inputs recorded for an op with optional parameters: undefined ones are left out, and the
// backward returns gradients for the defined ones only, in the same order.
std::vector<Var> defined_inputs(std::initializer_list<Var> vars) {
  std::vector<Var> v;
  for (const Var& x : vars)
    if (x.defined()) v.push_back(x);
  return v;
}

Tensor value_or_none(const Var& v) { return v.defined() ? v.value() : Tensor(); }
}  // namespace

Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps) {
  const Tensor w = value_or_none(weight), b = value_or_none(bias);
  ops::LayerNormResult r = ops::layer_norm(x.value(), w, b, eps);
  return record("layer_norm", r.y, defined_inputs({x, weight, bias}),
                [xv = x.value(), w, has_b = b.defined(), mean = r.mean, rstd = r.rstd,
                 gw = weight.requires_grad(), gb = bias.requires_grad()](const Tensor& gy) {
                  ops::LayerNormGrads g =
                      ops::layer_norm_backward(gy.contiguous(), xv, w, mean, rstd, gw, gb);
                  Grads out{g.dx};
                  if (w.defined()) out.push_back(g.dweight);
                  if (has_b) out.push_back(g.dbias);
                  return out;
                });
}

Var rms_norm(const Var& x, const Var& weight, float eps) {
  const Tensor w = value_or_none(weight);
  ops::RmsNormResult r = ops::rms_norm(x.value(), w, eps);
  return record("rms_norm", r.y, defined_inputs({x, weight}),
                [xv = x.value(), w, rstd = r.rstd, gw = weight.requires_grad()](const Tensor& gy) {
                  ops::RmsNormGrads g = ops::rms_norm_backward(gy.contiguous(), xv, w, rstd, gw);
                  Grads out{g.dx};
                  if (w.defined()) out.push_back(g.dweight);
                  return out;
                });
}

}  // namespace cubist
