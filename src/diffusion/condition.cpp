#include "diffusion/condition.h"

#include <algorithm>

#include "core/error.h"

namespace cubist {

namespace {

// One draw of randint(sum of weights), so that uniform weights draw as randint(5) always did.
MaskKind draw_kind(const std::array<int64_t, 5>& weights, Generator& gen) {
  int64_t total = 0;
  for (int64_t w : weights) total += w;
  CUBIST_CHECK(total > 0, "mask kinds: every weight is 0");
  int64_t r = static_cast<int64_t>(gen.randint(static_cast<uint64_t>(total)));
  size_t kind = 0;
  while (r >= weights[kind]) r -= weights[kind++];
  return static_cast<MaskKind>(kind);
}

std::vector<bool> draw_known_frames(int64_t T, Generator& gen,
                                    const std::array<int64_t, 5>& weights) {
  std::vector<bool> known(static_cast<size_t>(T), false);
  if (T < 2) return known;
  const auto k = [&](int64_t most) { return 1 + static_cast<int64_t>(gen.randint(most)); };
  switch (draw_kind(weights, gen)) {
    case MaskKind::kFirst:
      known[0] = true;
      break;
    case MaskKind::kHead:
      std::fill_n(known.begin(), k(T - 1), true);
      break;
    case MaskKind::kTail:
      std::fill_n(known.rbegin(), k(T - 1), true);
      break;
    case MaskKind::kEnds: {
      if (T < 3) {  // no room for both ends and a gap: the first frame alone
        known[0] = true;
        break;
      }
      const int64_t a = k(T - 2);
      const int64_t b = k(T - 1 - a);
      std::fill_n(known.begin(), a, true);
      std::fill_n(known.rbegin(), b, true);
      break;
    }
    case MaskKind::kRandom: {
      for (int64_t t = 0; t < T; ++t) known[static_cast<size_t>(t)] = gen.uniform() < 0.5f;
      if (std::all_of(known.begin(), known.end(), [](bool b) { return b; }))
        known[static_cast<size_t>(gen.randint(static_cast<uint64_t>(T)))] = false;
      break;
    }
  }
  return known;
}

Tensor mask_of(const std::vector<bool>& known, int64_t height, int64_t width) {
  const int64_t T = static_cast<int64_t>(known.size()), hw = height * width;
  Tensor m = Tensor::zeros({1, T, height, width});
  float* p = m.data<float>();
  for (int64_t t = 0; t < T; ++t)
    if (known[static_cast<size_t>(t)]) std::fill_n(p + t * hw, hw, 1.0f);
  return m;
}

void check_mask(const Tensor& x, const Tensor& mask, const char* what) {
  CUBIST_CHECK(x.dim() == 4 && mask.dim() == 4 && mask.size(0) == 1 && mask.size(1) == x.size(1) &&
                   mask.size(2) == x.size(2) && mask.size(3) == x.size(3),
               what, ": a mask [1, T, H, W] for latents [C, T, H, W]; got mask ", mask.shape(),
               " for ", x.shape());
}

}  // namespace

Tensor random_known_mask(int64_t frames, int64_t height, int64_t width, Generator& gen,
                         const std::array<int64_t, 5>& weights) {
  return mask_of(draw_known_frames(frames, gen, weights), height, width);
}

Tensor frame_mask(int64_t frames, int64_t height, int64_t width,
                  const std::vector<int64_t>& known_frames) {
  std::vector<bool> known(static_cast<size_t>(frames), false);
  for (int64_t f : known_frames) {
    CUBIST_CHECK(f >= 0 && f < frames, "known frames: latent frame ", f, " of a clip of ", frames,
                 " latent frames (accepted: 0 to ", frames - 1, ")");
    known[static_cast<size_t>(f)] = true;
  }
  return mask_of(known, height, width);
}

Tensor hold_frames(const Tensor& x, const Tensor& known, const Tensor& mask) {
  CUBIST_CHECK(known.shape() == x.shape(), "hold_frames: known latents ", known.shape(),
               " must match the sample ", x.shape());
  check_mask(x, mask, "hold_frames");
  const Tensor xc = x.contiguous(), kc = known.contiguous(), mc = mask.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const int64_t C = x.size(0), n = mask.numel();
  const float *px = xc.data<float>(), *pk = kc.data<float>(), *pm = mc.data<float>();
  float* po = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < n; ++i) po[c * n + i] = pm[i] != 0.0f ? pk[c * n + i] : px[c * n + i];
  return out;
}

Tensor with_mask_channel(const Tensor& x, const Tensor& mask) {
  check_mask(x, mask, "with_mask_channel");
  const int64_t C = x.size(0), n = mask.numel();
  Tensor out = Tensor::empty({C + 1, x.size(1), x.size(2), x.size(3)});
  const Tensor xc = x.contiguous(), mc = mask.contiguous();
  std::copy_n(xc.data<float>(), C * n, out.data<float>());
  std::copy_n(mc.data<float>(), n, out.data<float>() + C * n);
  return out;
}

Tensor generated_weight(const Tensor& mask, int64_t channels) {
  CUBIST_CHECK(mask.dim() == 4 && mask.size(0) == 1, "generated_weight: a mask [1, T, H, W], got ",
               mask.shape());
  const int64_t n = mask.numel();
  Tensor w = Tensor::empty({channels, mask.size(1), mask.size(2), mask.size(3)});
  const Tensor mc = mask.contiguous();
  const float* pm = mc.data<float>();
  float* pw = w.data<float>();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < n; ++i) pw[c * n + i] = 1.0f - pm[i];
  return w;
}

}  // namespace cubist
