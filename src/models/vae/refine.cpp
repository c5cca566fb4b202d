#include "models/vae/refine.h"

#include <cmath>
#include <cstdio>
#include <numbers>
#include <optional>
#include <string>
#include <utility>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/allocator.h"
#include "core/error.h"
#include "models/vae/vae.h"
#include "ops/adam.h"
#include "ops/elementwise.h"

namespace cubist {

size_t refine_memory_bytes(const VaeConfig& c, int64_t T, int64_t H, int64_t W) {
  constexpr double kBytesPerPixelFrame = 2700.0;  // the bundled autoencoder (base width 16)
  return static_cast<size_t>(kBytesPerPixelFrame * static_cast<double>(c.channels) / 16.0 *
                             static_cast<double>(T * H * W));
}

namespace {

std::string gigabytes(size_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f GB", static_cast<double>(bytes) / 1e9);
  return s;
}

// The pixel frames of latent frames [b, e): the first latent frame is one frame, each later
// one temporal_factor frames.
std::pair<int64_t, int64_t> frames_of(const VaeConfig& c, int64_t b, int64_t e) {
  return {b == 0 ? 0 : c.video_frames(b), c.video_frames(e)};
}

// o.steps Adam steps on a latent from `start` (a window of chunks, or the whole clip) down the
// squared error of its decoding against `target_frames`, each decode through a copy of `past` (the
// stream of the chunks before) or, without one, in one pass. Returns the latent of smallest error.
Tensor refine_part(const Vae& vae, const Tensor& target_frames, const Tensor& start,
                   const CausalStream* past, const RefineOptions& o,
                   const std::function<void(double)>& decoded) {
  const Var target(target_frames.contiguous());
  Tensor best = start.contiguous().clone();
  Var latent(best.clone(), true);
  Tensor m = Tensor::zeros(best.shape()), v = Tensor::zeros(best.shape());
  double best_mse = INFINITY;
  for (int64_t s = 0; s < o.steps; ++s) {
    latent.grad() = Tensor();
    std::optional<CausalStream> stream;  // every step's decode starts from the same past
    if (past) stream = *past;
    const Var loss = mse_loss(vae.decode(latent, stream ? &*stream : nullptr), target);
    const double mse = loss.item();
    if (mse < best_mse) best_mse = mse, best.copy_(latent.value());
    decoded(mse);
    if (s + 1 == o.steps) break;  // the last decode only measures
    loss.backward();
    // Cosine from lr to 0 over the updates: large steps first, then settling into the minimum.
    const double frac = static_cast<double>(s) / static_cast<double>(o.steps - 1);
    const float lr = static_cast<float>(0.5 * o.lr * (1.0 + std::cos(std::numbers::pi * frac)));
    ops::adam_update_(latent.value(), latent.grad(), m, v, {.lr = lr, .step = s + 1});
  }
  return best;
}

// The sum of squared differences of two tensors of one shape, in double.
double squared_error(const Tensor& a, const Tensor& b) {
  return ops::sum_squares(ops::sub(a.contiguous(), b.contiguous()));
}

}  // namespace

void check_refine_memory(const VaeConfig& c, int64_t T, int64_t H, int64_t W, size_t budget) {
  const size_t need = refine_memory_bytes(c, T, H, W);
  if (need <= budget) return;
  char msg[512];
  std::snprintf(msg, sizeof msg,
                "refining %lld frames of %lldx%lld holds the decoder's activations for the whole "
                "clip, about %s, more than the %s this machine allows it (three quarters of its "
                "memory); refine a shorter or smaller clip, or encode without refinement",
                static_cast<long long>(T), static_cast<long long>(W), static_cast<long long>(H),
                gigabytes(need).c_str(), gigabytes(budget).c_str());
  throw Error(msg);
}

RefinePlan plan_refinement(const VaeConfig& c, const RefineOptions& o, int64_t T, int64_t H,
                           int64_t W, size_t budget) {
  CUBIST_CHECK(o.chunk_latents >= kRefineWholeOrChunks, "refine: chunks of ", o.chunk_latents,
               " latent frames; give 1 or more, 0 for the whole clip at once, or -1 for the whole "
               "clip when it fits in memory and chunks when it does not");
  const int64_t tf = c.temporal_factor();
  const int64_t windows = o.lookahead ? 2 : 1;  // chunks decoded at once
  if (o.chunk_latents == kRefineWhole) {
    check_refine_memory(c, T, H, W, budget);
    return {};
  }
  if (o.chunk_latents > 0) {
    check_refine_memory(c, std::min(T, windows * o.chunk_latents * tf), H, W, budget);
    return {o.chunk_latents, o.lookahead};
  }
  if (refine_memory_bytes(c, T, H, W) <= budget) return {};
  const size_t one = refine_memory_bytes(c, tf, H, W);  // one latent frame's frames
  const int64_t fit = static_cast<int64_t>(budget / one);
  if (fit >= windows) return {fit / windows, o.lookahead};
  if (fit == 1) return {1, false};  // no room for the next chunk: greedy chunks of one
  char msg[512];
  std::snprintf(msg, sizeof msg,
                "refining frames of %lldx%lld holds the decoder's activations for at least %lld "
                "frames (one latent frame), about %s, more than the %s this machine allows it "
                "(three quarters of its memory); refine a smaller clip, or encode without "
                "refinement",
                static_cast<long long>(W), static_cast<long long>(H), static_cast<long long>(tf),
                gigabytes(one).c_str(), gigabytes(budget).c_str());
  throw Error(msg);
}

Tensor refine_latent(const Vae& vae, const Tensor& x, const Tensor& z, const RefineOptions& o,
                     const RefineProgress& progress) {
  CUBIST_CHECK(x.dim() == 5 && z.dim() == 5 && x.size(0) == 1 && z.size(0) == 1,
               "refine_latent: expects one video [1, 3, T, H, W] and its latent [1, C, T', H', "
               "W'], got ",
               x.shape(), " and ", z.shape());
  const VaeConfig& c = vae.config();
  CUBIST_CHECK(c.video_frames(z.size(2)) == x.size(2) &&
                   z.size(3) * c.spatial_factor == x.size(3) &&
                   z.size(4) * c.spatial_factor == x.size(4),
               "refine_latent: a latent ", z.shape(), " decodes to ", c.video_frames(z.size(2)),
               " frames of ", z.size(4) * c.spatial_factor, "x", z.size(3) * c.spatial_factor,
               ", not the video's ", x.size(2), " of ", x.size(4), "x", x.size(3));
  return refine_latent(
      vae, [&x](int64_t f0, int64_t f1) { return x.slice(2, f0, f1); }, z, o, progress);
}

Tensor refine_latent(const Vae& vae, const RefineFrames& frames, const Tensor& z,
                     const RefineOptions& o, const RefineProgress& progress) {
  CUBIST_CHECK(o.steps >= 0 && std::isfinite(o.lr) && o.lr > 0.0f,
               "refine_latent: steps must be >= 0 and the rate > 0, got ", o.steps, " and ", o.lr);
  CUBIST_CHECK(z.dim() == 5 && z.size(0) == 1,
               "refine_latent: expects one latent [1, C, T', H', W'], got ", z.shape());
  if (o.steps == 0) return z.contiguous().clone();
  const VaeConfig& c = vae.config();
  const int64_t n = z.size(2), sf = c.spatial_factor;
  const RefinePlan plan = plan_refinement(c, o, c.video_frames(n), z.size(3) * sf, z.size(4) * sf,
                                          memory_budget_bytes());
  const int64_t chunk = plan.chunk_latents >= n ? 0 : plan.chunk_latents;  // 0: the whole clip
  int64_t chunks = 1;
  if (chunk > 0)
    for (int64_t b = 0, e = 0; (e = Vae::chunk_end(b, n, chunk)) < n; b = e) ++chunks;
  const int64_t decodes = o.steps * chunks;
  int64_t done = 0;
  const auto decoded = [&](double mse) {
    if (progress) progress(++done, decodes, mse);
  };

  EnableGrad enable;            // callers may run under NoGrad
  ConstantWeights frozen(vae);  // the gradient is the latent's alone
  if (chunk == 0) return refine_part(vae, frames(0, c.video_frames(n)), z, nullptr, o, decoded);
  // The refined chunks' decoder stream, and the encoder's latent's beside it: each chunk's
  // decoding through both is measured on its frames, for the whole clip's comparison at the end.
  CausalStream past, unrefined;
  double refined_error = 0, unrefined_error = 0;
  Tensor refined = z.contiguous().clone();  // the latest estimate of every latent frame
  for (int64_t b = 0; b < n;) {
    const int64_t e = Vae::chunk_end(b, n, chunk);
    const int64_t w = plan.lookahead ? Vae::chunk_end(e, n, chunk) : e;  // the window's end
    const auto [f0, f1] = frames_of(c, b, w);
    const Tensor target = frames(f0, f1);
    const Tensor window = refine_part(vae, target, refined.slice(2, b, w), &past, o, decoded);
    refined.slice(2, b, w).copy_(window);  // the lookahead's part is the next window's start
    const Tensor own = target.slice(2, 0, frames_of(c, b, e).second - f0);  // the chunk's frames
    refined_error += squared_error(vae.decode_next(window.slice(2, 0, e - b).contiguous(), past),
                                   own);  // the chunk becomes the past
    unrefined_error +=
        squared_error(vae.decode_next(z.slice(2, b, e).contiguous(), unrefined), own);
    b = e;
  }
  // Each window kept its own best, judged on its own frames: together they can, in principle,
  // decode the whole clip worse than the encoder's latent does.
  return refined_error <= unrefined_error ? refined : z.contiguous().clone();
}

}  // namespace cubist
