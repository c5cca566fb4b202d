#include "autograd/conv3d.h"

namespace cubist {

Var conv3d(const Var& x, const Var& w, const Var& b, const Conv3dParams& p, ops::ConvAlgo algo) {
  // The kernels take contiguous memory; contiguous() is free when it already is.
  const Tensor xv = x.value().contiguous(), wv = w.value().contiguous();
  const Tensor bias = b.defined() ? b.value().contiguous() : Tensor();
  Tensor y = ops::conv3d(xv, wv, bias, p, algo);
  std::vector<Var> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  const bool need_dx = x.requires_grad(), need_dw = w.requires_grad();
  const bool need_db = b.defined() && b.requires_grad();
  return record("conv3d", y, inputs,
                [xv, wv, p, algo, need_dx, need_dw, need_db, has_b = b.defined()](const Tensor& g) {
                  ops::Conv3dGrads d = ops::conv3d_backward(g.contiguous(), xv, wv, p, need_dx,
                                                            need_dw, need_db, algo);
                  Grads out{d.dx, d.dw};
                  if (has_b) out.push_back(d.db);
                  return out;
                });
}

}  // namespace cubist
