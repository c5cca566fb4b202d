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

// How a refinement cuts a clip in time (RefineOptions::chunk_latents).
inline constexpr int64_t kRefineWholeOrChunks = -1;  // whole when it fits memory, else chunks
inline constexpr int64_t kRefineWhole = 0;           // the whole clip, refused if it does not fit

struct RefineOptions {
  int64_t steps = 0;     // decodes of the latent (of each chunk); 0 leaves the encoder's mean
  float lr = kRefineLr;  // at the first step, decaying by a cosine to 0 at the last
  // Latent frames refined at a time, in the decoder's streaming chunks (the first latent frame
  // alone, then this many: Vae::chunk_end), so memory holds a chunk's decoding however long
  // the clip is. Each chunk takes `steps` steps, decoded through the decoder's stream of the
  // chunks before it, already refined; with `lookahead` together with the next chunk (started
  // from where this window leaves it), since the decoder is causal and a latent frame shapes
  // the frames after its own too. kRefineWholeOrChunks: the whole clip when it fits the memory
  // budget, else the longest chunks that do; kRefineWhole: the whole clip, always. docs/VAE.md
  // measures what chunks cost against the whole clip's exact gradient.
  int64_t chunk_latents = kRefineWholeOrChunks;
  bool lookahead = true;
};

// How a refinement cuts a clip: chunks of chunk_latents latent frames (0: the whole clip at
// once), each refined alone or in a window with the next.
struct RefinePlan {
  int64_t chunk_latents = 0;
  bool lookahead = false;
};

// About how much memory refining a clip of T x H x W pixels at once holds: the decoder's
// activations for the whole clip and their gradients, measured as 2.7 KB a pixel of every frame
// (peak resident memory with refinement less that without, the bundled autoencoder of base
// width 16, 17 frames of 64x64 and of 128x128) and scaled by the base width.
size_t refine_memory_bytes(const VaeConfig& c, int64_t T, int64_t H, int64_t W);

// A clear error, before the first step, when refining T x H x W at once would need more than
// `budget` bytes (by default three quarters of physical memory), instead of the process being
// killed for memory part way.
void check_refine_memory(const VaeConfig& c, int64_t T, int64_t H, int64_t W, size_t budget);

// How a refinement of a T x H x W clip under `o` runs within `budget` bytes: the whole clip, or
// chunks of the latent frames o.chunk_latents asks for (by default the longest that fit, with
// their lookahead windows, or greedy chunks of one latent frame where a window of two does not
// fit). An Error naming what it would need when what o asks for does not fit, or not even one
// latent frame's worth of frames does.
RefinePlan plan_refinement(const VaeConfig& c, const RefineOptions& o, int64_t T, int64_t H,
                           int64_t W, size_t budget);

// Called after each decode with the decodes so far (1-based) out of `decodes` in all (steps
// times chunks), and that decode's mean squared error (pixels in [-1, 1]) over the frames it
// refines (the chunk's, or the whole clip's).
using RefineProgress = std::function<void(int64_t decode, int64_t decodes, double mse)>;

// The frames [f0, f1) of the video a latent is refined towards, as [1, 3, f1 - f0, H, W] in
// [-1, 1] (padded as the latent was encoded). A refinement asks for them in order (f0 never goes
// back), so that a file can be read as it goes and only a window's frames held (latent_io).
using RefineFrames = std::function<Tensor(int64_t f0, int64_t f1)>;

// The latent z [1, C, T', H', W'] (the encoder's mean for the video) refined towards one that
// decodes to the video's T x H x W frames (T = the frames z decodes to, H and W z's times the
// spatial factor). Each chunk (or the whole clip) keeps, of the latents it decoded (its part of
// z first), the one with the smallest error on its frames; in chunks, if the result decodes the
// whole clip worse than z (the chunks before may have moved), z is returned, so the result never
// reconstructs the video worse than z does. Memory: the decoder's activations for a chunk
// (plan_refinement, with memory_budget_bytes()), as a training step on it holds, and a window's
// frames.
Tensor refine_latent(const Vae& vae, const RefineFrames& frames, const Tensor& z,
                     const RefineOptions& o, const RefineProgress& progress = {});
// The same, towards a video held whole: x [1, 3, T, H, W].
Tensor refine_latent(const Vae& vae, const Tensor& x, const Tensor& z, const RefineOptions& o,
                     const RefineProgress& progress = {});

}  // namespace cubist
