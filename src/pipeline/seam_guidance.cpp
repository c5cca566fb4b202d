#include "pipeline/seam_guidance.h"

#include <cmath>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "nn/module.h"
#include "ops/elementwise.h"

namespace cubist {

Tensor seam_gradient(const Vae& vae, const Tensor& clean, const Tensor& target, int64_t from,
                     int64_t to) {
  EnableGrad enable;            // sampling runs under NoGrad
  ConstantWeights frozen(vae);  // the gradient is the latents' alone
  const Var z(clean.unsqueeze(0).contiguous(), true);
  const Var x = vae.decode(z);
  const int64_t T = x.size(2), n = target.size(2);
  mse_loss(slice(x, 2, T - n, T), Var(target)).backward();
  Tensor g = z.grad().squeeze(0).contiguous();
  g.slice(1, 0, from).zero_();
  g.slice(1, to, g.size(1)).zero_();
  const double generated = static_cast<double>(g.numel() / g.size(1) * (to - from));
  const double rms = std::sqrt(ops::sum_squares(g) / generated);
  if (rms > 0.0) ops::scale_(g, static_cast<float>(1.0 / rms));
  return g;
}

}  // namespace cubist
