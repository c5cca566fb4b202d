// From a prompt to video frames: the sizes that a diffusion transformer and its video
// autoencoder can generate together, and one generation (generate_latents) decoded by the
// autoencoder. Shared by `cubist generate` (src/pipeline/) and the samples of `cubist train`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "diffusion/dit_flow.h"
#include "io/video.h"
#include "models/vae/vae.h"

namespace cubist {

// The latent shape [C, T', H', W'] of a video of `frames` frames of width x height, or an Error
// that says what is accepted: frames = 1 + tf k (tf the autoencoder's temporal factor; T' a
// multiple of the patch's pt), width and height multiples of the autoencoder's spatial factor
// times the patch (ph, pw), and the transformer's latent channels equal to the autoencoder's.
Dims video_latent_shape(const DiTConfig& dit, const VaeConfig& vae, int64_t frames, int64_t width,
                        int64_t height);

// The size this model takes nearest to width x height: each side rounded to the nearest multiple
// of the autoencoder's spatial factor times the patch, and at least one multiple.
std::pair<int64_t, int64_t> nearest_size(const DiTConfig& dit, const VaeConfig& vae, int64_t width,
                                         int64_t height);

// "9 or 13": the frame counts this autoencoder and a patch of pt latent frames take (latent frame
// counts that are multiples of pt) on either side of `frames`; one number when it is accepted.
std::string nearest_frame_counts(const VaeConfig& vae, int64_t pt, int64_t frames);

// Generates the latents of such a video for a prompt (token ids) and decodes them one latent
// frame at a time. The same options (seed included) give the same frames.
Video generate_video(const DiT& dit, const Vae& vae, const std::vector<int32_t>& prompt,
                     int64_t frames, int64_t width, int64_t height, const GenerateOptions& options,
                     double fps = 8.0);

}  // namespace cubist
