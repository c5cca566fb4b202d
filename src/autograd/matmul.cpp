// Differentiable linear and matmul: the kernels of ops/matmul, recorded for backward.
#include "autograd/matmul.h"

#include "ops/matmul.h"

namespace cubist {

Var linear(const Var& x, const Var& w, const Var& b) {
  const bool has_bias = b.defined();
  Tensor y = ops::linear(x.value(), w.value(), has_bias ? b.value() : Tensor());
  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  // Only the gradients that some input needs are computed.
  return record(
      "linear", y, inputs,
      [xv = x.value(), wv = w.value(), need_x = x.requires_grad(), need_w = w.requires_grad(),
       need_b = has_bias && b.requires_grad(), has_bias](const Tensor& g) {
        ops::LinearGrads d = ops::linear_backward(g.contiguous(), xv, wv, need_x, need_w, need_b);
        Grads out{d.dx, d.dw};
        if (has_bias) out.push_back(d.db);
        return out;
      });
}

Var matmul(const Var& a, const Var& b) {
  return record("matmul", ops::matmul(a.value(), b.value()), {a, b},
                [av = a.value(), bv = b.value(), need_a = a.requires_grad(),
                 need_b = b.requires_grad()](const Tensor& g) {
                  ops::MatmulGrads d = ops::matmul_backward(g.contiguous(), av, bv, need_a, need_b);
                  return Grads{d.da, d.db};
                });
}

}  // namespace cubist
