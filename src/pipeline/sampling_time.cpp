#include "pipeline/sampling_time.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "autograd/var.h"
#include "core/rng.h"
#include "models/dit/patchify.h"
#include "models/text/tokenizer.h"
#include "pipeline/seam_guidance.h"

namespace cubist {

double evaluation_flops(const DiT& model, int64_t tokens, int64_t clips) {
  const DiTConfig& c = model.config();
  const double n = static_cast<double>(tokens);
  const double linear = 2.0 * static_cast<double>(model.num_parameters()) * n;
  const double attention = 4.0 * n * n * static_cast<double>(c.hidden * c.depth);
  return static_cast<double>(clips) * (linear + attention);
}

namespace {

// The fastest of two runs of `run`, in seconds (the first also warms the allocator and caches).
template <typename F>
double fastest_of_two(F&& run) {
  double fastest = 1e30;
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const auto t1 = std::chrono::steady_clock::now();
    fastest = std::min(fastest, std::chrono::duration<double>(t1 - t0).count());
  }
  return std::max(fastest, 1e-9);
}

}  // namespace

double measured_flops_per_second(const DiT& model) {
  const DiTConfig& c = model.config();
  const PatchGrid grid{1, 16, 16};
  const PackLayout layout = pack_layout({grid});
  Tensor x = Tensor::zeros({grid.tokens(), c.input_patch_dim()});
  Generator(0).normal_(x);
  const Var tokens(x);
  const Prompts prompts = {{text::kEmpty}};
  NoGrad no_grad;
  const double seconds =
      fastest_of_two([&] { model.forward_tokens(tokens, layout, {0.5f}, prompts); });
  return evaluation_flops(model, grid.tokens(), 1) / seconds;
}

DecoderSeconds measured_decoder_seconds(const Vae& vae) {
  const VaeConfig& c = vae.config();
  const int64_t latents = 2, side = 8, sf = c.spatial_factor;  // 5 frames of 32x32 at 4x
  Tensor z = Tensor::zeros({c.latent_channels, latents, side, side});
  Generator(0).normal_(z);
  const Tensor target = Tensor::zeros({1, 3, c.temporal_factor(), side * sf, side * sf});
  const double pixels = static_cast<double>(c.video_frames(latents) * side * sf * side * sf);
  DecoderSeconds s;
  s.decode = fastest_of_two([&] { vae.decode_chunked(z.unsqueeze(0).contiguous()); }) / pixels;
  s.guide = fastest_of_two([&] { seam_gradient(vae, z, target, 0, latents - 1); }) / pixels;
  return s;
}

std::string about_duration(double seconds) {
  const auto whole = [](double x) { return std::to_string(std::llround(x)); };
  if (seconds < 90) return "about " + whole(std::max(1.0, seconds)) + " s";
  if (seconds < 90 * 60) return "about " + whole(seconds / 60) + " min";
  if (seconds < 48 * 3600) {
    const int64_t minutes = std::llround(seconds / 60);
    return "about " + std::to_string(minutes / 60) + " h " + std::to_string(minutes % 60) + " min";
  }
  return "about " + whole(seconds / 86400) + " days";
}

}  // namespace cubist
