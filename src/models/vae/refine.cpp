#include "models/vae/refine.h"

#include <cmath>
#include <numbers>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/error.h"
#include "models/vae/vae.h"
#include "ops/adam.h"

namespace cubist {

double psnr_of_mse(double mse) { return mse > 0.0 ? 10.0 * std::log10(4.0 / mse) : 99.0; }

Tensor refine_latent(const Vae& vae, const Tensor& x, const Tensor& z, const RefineOptions& o,
                     const RefineProgress& progress) {
  CUBIST_CHECK(o.steps >= 0 && std::isfinite(o.lr) && o.lr > 0.0f,
               "refine_latent: steps must be >= 0 and the rate > 0, got ", o.steps, " and ", o.lr);
  CUBIST_CHECK(x.dim() == 5 && z.dim() == 5 && x.size(0) == 1 && z.size(0) == 1,
               "refine_latent: expects one video [1, 3, T, H, W] and its latent [1, C, T', H', "
               "W'], got ",
               x.shape(), " and ", z.shape());
  Tensor best = z.contiguous().clone();
  if (o.steps == 0) return best;
  EnableGrad enable;            // callers may run under NoGrad
  ConstantWeights frozen(vae);  // the gradient is the latent's alone
  const Var target(x.contiguous());
  Var latent(best.clone(), true);
  Tensor m = Tensor::zeros(best.shape()), v = Tensor::zeros(best.shape());
  double best_mse = INFINITY;
  for (int64_t s = 0; s < o.steps; ++s) {
    latent.grad() = Tensor();
    const Var loss = mse_loss(vae.decode(latent), target);
    const double mse = loss.item();
    if (mse < best_mse) best_mse = mse, best.copy_(latent.value());
    if (progress) progress(s + 1, mse);
    if (s + 1 == o.steps) break;  // the last decode only measures
    loss.backward();
    // Cosine from lr to 0 over the updates: large steps first, then settling into the minimum.
    const double frac = static_cast<double>(s) / static_cast<double>(o.steps - 1);
    const float lr = static_cast<float>(0.5 * o.lr * (1.0 + std::cos(std::numbers::pi * frac)));
    ops::adam_update_(latent.value(), latent.grad(), m, v, {.lr = lr, .step = s + 1});
  }
  return best;
}

}  // namespace cubist
