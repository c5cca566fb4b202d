#include "models/dit/patchify.h"

#include "autograd/basic.h"
#include "core/error.h"

namespace cubist {
namespace {

void check_axis(const char* axis, int64_t size, int64_t patch, const Dims& shape) {
  if (size % patch == 0 && size > 0) return;
  const int64_t lo = size / patch * patch, hi = lo + patch;
  fail("patchify: latents ", shape, " have ", axis, " = ", size,
       ", which is not a positive multiple of the patch size ", patch,
       " along that axis (nearest "
       "accepted: ",
       lo > 0 ? std::to_string(lo) + " or " : std::string(), hi,
       "); latents are [C, T, H, W] with T, H, W multiples of the patch (pt, ph, pw)");
}

}  // namespace

PatchGrid patch_grid(const Dims& shape, PatchSize p) {
  CUBIST_CHECK(shape.size() == 4, "patchify: latents must be [C, T, H, W], got ", shape);
  check_axis("T", shape[1], p.t, shape);
  check_axis("H", shape[2], p.h, shape);
  check_axis("W", shape[3], p.w, shape);
  return {shape[1] / p.t, shape[2] / p.h, shape[3] / p.w};
}

Var patchify(const Var& latents, PatchSize p) {
  const PatchGrid g = patch_grid(latents.shape(), p);
  const int64_t c = latents.size(0);
  // [C, T', pt, H', ph, W', pw] -> [T', H', W', C, pt, ph, pw]
  Var x = reshape(latents, {c, g.t, p.t, g.h, p.h, g.w, p.w});
  x = permute(x, {1, 3, 5, 0, 2, 4, 6});
  return reshape(x, {g.tokens(), c * p.volume()});
}

Var unpatchify(const Var& tokens, PatchSize p, int64_t channels, PatchGrid g) {
  CUBIST_CHECK(
      tokens.dim() == 2 && tokens.size(0) == g.tokens() && tokens.size(1) == channels * p.volume(),
      "unpatchify: tokens ", tokens.shape(), " do not match a grid of ", g.t, "x", g.h, "x", g.w,
      " patches of ", channels, "x", p.t, "x", p.h, "x", p.w, " values");
  Var x = reshape(tokens, {g.t, g.h, g.w, channels, p.t, p.h, p.w});
  x = permute(x, {3, 0, 4, 1, 5, 2, 6});
  return reshape(x, {channels, g.t * p.t, g.h * p.h, g.w * p.w});
}

Tensor patch_positions(PatchGrid g) {
  Tensor pos = Tensor::empty({g.tokens(), 3});
  float* p = pos.data<float>();
  for (int64_t t = 0; t < g.t; ++t)
    for (int64_t h = 0; h < g.h; ++h)
      for (int64_t w = 0; w < g.w; ++w, p += 3) {
        p[0] = static_cast<float>(t);
        p[1] = static_cast<float>(h);
        p[2] = static_cast<float>(w);
      }
  return pos;
}

PackLayout pack_layout(const std::vector<PatchGrid>& grids) {
  CUBIST_CHECK(!grids.empty(), "pack: no clips given");
  PackLayout l;
  l.grids = grids;
  int64_t total = 0;
  for (const PatchGrid& g : grids) total += g.tokens();
  l.positions = Tensor::empty({total, 3});
  int64_t row = 0;
  for (size_t i = 0; i < grids.size(); ++i) {
    const int64_t n = grids[i].tokens();
    l.seqlens.push_back(n);
    l.clip_of_token.insert(l.clip_of_token.end(), static_cast<size_t>(n), static_cast<int32_t>(i));
    l.positions.slice(0, row, row + n).copy_(patch_positions(grids[i]));
    row += n;
  }
  return l;
}

Var pack_clips(const std::vector<Var>& latents, PatchSize p, PackLayout* layout) {
  CUBIST_CHECK(!latents.empty(), "pack: no clips given");
  std::vector<Var> tokens;
  std::vector<PatchGrid> grids;
  for (const Var& x : latents) {
    CUBIST_CHECK(x.dim() == 4 && x.size(0) == latents[0].size(0),
                 "pack: every clip must be [C, T, "
                 "H, W] with the same C; got ",
                 x.shape(), " and ", latents[0].shape());
    tokens.push_back(patchify(x, p));
    grids.push_back(patch_grid(x.shape(), p));
  }
  if (layout) *layout = pack_layout(grids);
  return tokens.size() == 1 ? tokens[0] : concat(tokens, 0);
}

std::vector<Var> unpack_clips(const Var& tokens, const PackLayout& layout, PatchSize p,
                              int64_t channels) {
  CUBIST_CHECK(tokens.dim() == 2 && tokens.size(0) == layout.tokens(), "unpack: tokens ",
               tokens.shape(), " do not match the layout's ", layout.tokens(), " tokens");
  std::vector<Var> out;
  int64_t row = 0;
  for (size_t i = 0; i < layout.grids.size(); ++i) {
    const int64_t n = layout.seqlens[i];
    Var t = layout.grids.size() == 1 ? tokens : slice(tokens, 0, row, row + n);
    out.push_back(unpatchify(t, p, channels, layout.grids[i]));
    row += n;
  }
  return out;
}

}  // namespace cubist
