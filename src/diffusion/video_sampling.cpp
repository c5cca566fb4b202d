#include "diffusion/video_sampling.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "models/vae/tiling.h"

namespace cubist {

namespace {

// "96x64 or 112x64": the accepted sizes on either side of a size that is off.
std::string nearest_sizes(int64_t width, int64_t height, int64_t mw, int64_t mh) {
  auto down = [](int64_t v, int64_t m) { return std::max(m, v / m * m); };
  auto up = [](int64_t v, int64_t m) { return std::max(m, (v + m - 1) / m * m); };
  std::ostringstream os;
  os << down(width, mw) << "x" << down(height, mh);
  if (down(width, mw) != up(width, mw) || down(height, mh) != up(height, mh))
    os << " or " << up(width, mw) << "x" << up(height, mh);
  return os.str();
}

}  // namespace

std::pair<int64_t, int64_t> nearest_size(const DiTConfig& dit, const VaeConfig& vae, int64_t width,
                                         int64_t height) {
  auto nearest = [](int64_t v, int64_t m) { return std::max(m, (v + m / 2) / m * m); };
  return {nearest(width, vae.spatial_factor * dit.patch.w),
          nearest(height, vae.spatial_factor * dit.patch.h)};
}

std::string nearest_frame_counts(const VaeConfig& vae, int64_t pt, int64_t frames) {
  if (frames <= vae.video_frames(pt)) return std::to_string(vae.video_frames(pt));
  const int64_t below = (1 + (frames - 1) / vae.temporal_factor()) / pt * pt;
  if (vae.video_frames(below) == frames) return std::to_string(frames);
  return std::to_string(vae.video_frames(below)) + " or " +
         std::to_string(vae.video_frames(below + pt));
}

Dims video_latent_shape(const DiTConfig& dit, const VaeConfig& vae, int64_t frames, int64_t width,
                        int64_t height) {
  CUBIST_CHECK(dit.latent_channels == vae.latent_channels, "generate: the transformer works on ",
               dit.latent_channels, " latent channels but the autoencoder (", vae.summary(),
               ") makes ", vae.latent_channels,
               "; they do not belong together (train the transformer on this autoencoder's "
               "latents)");
  const int64_t tf = vae.temporal_factor(), pt = dit.patch.t;
  const bool frames_ok =
      frames >= 1 && (frames - 1) % tf == 0 && vae.latent_frames(frames) % pt == 0;
  if (!frames_ok) {
    std::ostringstream accepted;  // the first few frame counts whose latent frames pt divides
    for (int64_t t = pt, n = 0; n < 5; t += pt, ++n) accepted << vae.video_frames(t) << ", ";
    fail("generate: ", frames, " frames; this model takes 1 + ", tf, "k frames",
         pt > 1 ? " whose latent frame count is a multiple of the patch" : "", " (", accepted.str(),
         "...); nearest: ", nearest_frame_counts(vae, pt, frames));
  }
  const int64_t mh = vae.spatial_factor * dit.patch.h, mw = vae.spatial_factor * dit.patch.w;
  CUBIST_CHECK(width >= 1 && height >= 1 && width % mw == 0 && height % mh == 0, "generate: size ",
               width, "x", height, " (WxH); this model takes widths that are multiples of ", mw,
               " and heights that are multiples of ", mh, " (the autoencoder's spatial factor ",
               vae.spatial_factor, " x the patch ", dit.patch.w, "x", dit.patch.h,
               "); nearest: ", nearest_sizes(width, height, mw, mh));
  return Dims{dit.latent_channels, vae.latent_frames(frames), height / vae.spatial_factor,
              width / vae.spatial_factor};
}

Video generate_video(const DiT& dit, const Vae& vae, const std::vector<int32_t>& prompt,
                     int64_t frames, int64_t width, int64_t height, const GenerateOptions& options,
                     double fps) {
  const Dims shape = video_latent_shape(dit.config(), vae.config(), frames, width, height);
  const Tensor z = generate_latents(dit, shape, prompt, options);
  return tensor_to_video(decode_tiled(vae, z.unsqueeze(0).contiguous(), 1), fps);
}

}  // namespace cubist
