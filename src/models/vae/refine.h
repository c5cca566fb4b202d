// Encoding by optimisation: the encoder's posterior mean is a one-pass guess at the latent that
// decodes to the video; a few Adam steps on the latent itself, down the reconstruction error
// through the (fixed) decoder, close much of the gap between that guess and the best latent the
// decoder can use (the "amortization gap": Cremer et al. 2018; for learned compression, Campos
// et al. 2019 and Yang et al. 2020 refine latents the same way). The latent keeps its shape, so
// it is a drop-in for the encoder's: same compression, the same decoder, better reconstructions
// of the video it was refined on, at the cost of a decode and its gradient per step
// (docs/VAE.md, "Refined encoding").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "core/tensor.h"

namespace cubist {

class Vae;
struct VaeConfig;

// Adam's first step in latent units (the bundled autoencoder's latents have a spread of about
// 1.2); 0.05 to 0.2 gave the same PSNR within 0.15 dB at 50 to 200 steps (docs/VAE.md).
inline constexpr float kRefineLr = 0.1f;

struct RefineOptions {
  int64_t steps = 0;     // decodes of the latent; 0 leaves the encoder's mean as it is
  float lr = kRefineLr;  // at the first step, decaying by a cosine to 0 at the last
};

// About how much memory refining a clip of T x H x W pixels holds: the decoder's activations for
// the whole clip and their gradients, measured as 2.7 KB a pixel of every frame (peak resident
// memory with refinement less that without, the bundled autoencoder of base width 16, 17 frames
// of 64x64 and of 128x128) and scaled by the base width.
size_t refine_memory_bytes(const VaeConfig& c, int64_t T, int64_t H, int64_t W);

// A clear error, before the first step, when refining a clip of T x H x W would need more than
// `budget` bytes (by default three quarters of physical memory), instead of the process being
// killed for memory part way.
void check_refine_memory(const VaeConfig& c, int64_t T, int64_t H, int64_t W, size_t budget);

// The PSNR (dB, peak 255) of a mean squared error of pixels in [-1, 1].
double psnr_of_mse(double mse);

// Called after each decode with the step (1-based) and that latent's mean squared error (pixels
// in [-1, 1]).
using RefineProgress = std::function<void(int64_t step, double mse)>;

// The latent z [1, C, T', H', W'] (the encoder's mean for x) refined towards one that decodes
// to x [1, 3, T, H, W]: of the latents it decodes (z itself first), the one with the smallest
// error, so the result never reconstructs x worse than z does. Holds the decoder's activations
// for the whole clip (about 11 MB a frame at 64x64), as a training step does.
Tensor refine_latent(const Vae& vae, const Tensor& x, const Tensor& z, const RefineOptions& o,
                     const RefineProgress& progress = {});

}  // namespace cubist
