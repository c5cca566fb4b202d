#include "models/vae/refine.h"

#include <cmath>
#include <cstdio>
#include <numbers>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/allocator.h"
#include "core/error.h"
#include "models/vae/vae.h"
#include "ops/adam.h"

namespace cubist {

size_t refine_memory_bytes(const VaeConfig& c, int64_t T, int64_t H, int64_t W) {
  constexpr double kBytesPerPixelFrame = 2700.0;  // the bundled autoencoder (base width 16)
  return static_cast<size_t>(kBytesPerPixelFrame * static_cast<double>(c.channels) / 16.0 *
                             static_cast<double>(T * H * W));
}

void check_refine_memory(const VaeConfig& c, int64_t T, int64_t H, int64_t W, size_t budget) {
  const size_t need = refine_memory_bytes(c, T, H, W);
  if (need <= budget) return;
  char msg[512];
  std::snprintf(msg, sizeof msg,
                "refining %lld frames of %lldx%lld holds the decoder's activations for the whole "
                "clip, about %.1f GB, more than the %.1f GB this machine allows it (three "
                "quarters of its memory); refine a shorter or smaller clip, or encode without "
                "refinement",
                static_cast<long long>(T), static_cast<long long>(W), static_cast<long long>(H),
                static_cast<double>(need) / 1e9, static_cast<double>(budget) / 1e9);
  throw Error(msg);
}

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
  check_refine_memory(vae.config(), x.size(2), x.size(3), x.size(4), memory_budget_bytes());
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
