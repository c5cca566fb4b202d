#include "models/vae/tiling.h"

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "models/vae/vae.h"

namespace cubist {

namespace {

Tensor spatial_crop(const Tensor& x, int64_t y0, int64_t x0, int64_t h, int64_t w) {
  return x.slice(3, y0, y0 + h).slice(4, x0, x0 + w).contiguous();
}

// The frames done within tile `index` of `tiles`, n frames each, told to `progress` as frames done
// over every tile.
std::function<void(int64_t)> tile_share(const TileProgress& progress, int64_t index, int64_t n,
                                        int64_t tiles) {
  if (!progress) return {};
  return [&progress, index, n, tiles](int64_t frames) { progress(index * n + frames, tiles * n); };
}

int64_t tile_count(const TileGrid& g) { return static_cast<int64_t>(g.ys.size() * g.xs.size()); }

}  // namespace

TileGrid tile_grid(int64_t H, int64_t W, int64_t tile, int64_t overlap) {
  TileGrid g{.ys = {}, .xs = {}, .h = std::min(tile, H), .w = std::min(tile, W)};
  g.ys = tile_starts(H, g.h, std::min(overlap, g.h - 1));
  g.xs = tile_starts(W, g.w, std::min(overlap, g.w - 1));
  return g;
}

Tensor blend_tiles(const TileGrid& g, int64_t scale, const TileRun& run) {
  Tensor out, weight_sum;
  float *po = nullptr, *pw = nullptr;
  const int64_t H = g.height() * scale, W = g.width() * scale;
  const int64_t th = g.h * scale, tw = g.w * scale;
  int64_t planes = 0;
  for (size_t i = 0; i < g.ys.size(); ++i)
    for (size_t j = 0; j < g.xs.size(); ++j) {
      const Tensor r = run(g.ys[i], g.xs[j], g.h, g.w).contiguous();
      CUBIST_CHECK(r.dim() == 5 && r.size(3) == th && r.size(4) == tw, "blend_tiles: a tile of ",
                   g.h, "x", g.w, " gave ", r.shape(), ", expected [B, C, T, ", th, ", ", tw, "]");
      if (!po) {
        out = Tensor::zeros({r.size(0), r.size(1), r.size(2), H, W});
        weight_sum = Tensor::zeros({H, W});
        po = out.data<float>(), pw = weight_sum.data<float>();
        planes = r.size(0) * r.size(1) * r.size(2);
      }
      CUBIST_CHECK(r.numel() == planes * th * tw, "blend_tiles: tiles of different shapes");
      const std::vector<float> wy = tile_weights(g.ys, i, g.h, scale);
      const std::vector<float> wx = tile_weights(g.xs, j, g.w, scale);
      const int64_t y0 = g.ys[i] * scale, x0 = g.xs[j] * scale;
      const float* pr = r.data<float>();
      parallel_for(planes, 1, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p)
          for (int64_t y = 0; y < th; ++y) {
            const float* src = pr + (p * th + y) * tw;
            float* dst = po + (p * H + y0 + y) * W + x0;
            for (int64_t x = 0; x < tw; ++x) dst[x] += wy[y] * wx[x] * src[x];
          }
      });
      for (int64_t y = 0; y < th; ++y)
        for (int64_t x = 0; x < tw; ++x) pw[(y0 + y) * W + x0 + x] += wy[y] * wx[x];
    }
  parallel_for(planes, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p)
      for (int64_t k = 0; k < H * W; ++k) po[p * H * W + k] /= pw[k];
  });
  return out;
}

std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap) {
  CUBIST_CHECK(tile >= 1 && overlap >= 0 && overlap < tile, "tiles of ", tile, " with ", overlap,
               " shared: the overlap must be at least 0 and smaller than the tile");
  std::vector<int64_t> starts{0};
  while (starts.back() + tile < length)
    starts.push_back(std::min(starts.back() + tile - overlap, length - tile));
  return starts;
}

std::vector<float> tile_weights(const std::vector<int64_t>& starts, size_t i, int64_t tile,
                                int64_t scale) {
  const int64_t n = tile * scale;
  const int64_t before = i > 0 ? (starts[i - 1] + tile - starts[i]) * scale : 0;
  const int64_t after = i + 1 < starts.size() ? (starts[i] + tile - starts[i + 1]) * scale : 0;
  std::vector<float> w(static_cast<size_t>(n), 1.0f);
  for (int64_t p = 0; p < n; ++p) {
    if (p < before) w[p] = std::min(w[p], (p + 0.5f) / before);
    if (n - p <= after) w[p] = std::min(w[p], (n - p - 0.5f) / after);
  }
  return w;
}

bool tiles_frames(const Tiling& t, int64_t height, int64_t width) {
  return t.tile > 0 && (height > t.tile || width > t.tile);
}

void check_tiling(const Tiling& t, int64_t spatial_factor, const char* tile_name,
                  const char* overlap_name) {
  CUBIST_CHECK(t.tile >= 0 && t.tile % spatial_factor == 0, tile_name, " ", t.tile,
               ": give a tile side in pixels, a multiple of ", spatial_factor,
               " (this autoencoder's spatial factor; default ", kTilePixels,
               "), or 0 for whole frames");
  CUBIST_CHECK(
      t.overlap >= 0 && (t.tile == 0 || (t.overlap < t.tile && t.overlap % spatial_factor == 0)),
      overlap_name, " ", t.overlap, ": give a multiple of ", spatial_factor,
      " pixels, 0 or more and smaller than the tile (", t.tile, "); default a quarter of it");
}

Tensor encode_tiled(const Vae& vae, const Tensor& x, int64_t chunk_frames, const Tiling& t,
                    const TileProgress& progress) {
  const int64_t sf = vae.config().spatial_factor;
  check_tiling(t, sf);
  CUBIST_CHECK(x.dim() == 5, "vae encode: expects [B, 3, T, H, W], got ", x.shape());
  const int64_t n = x.size(2);
  if (!tiles_frames(t, x.size(3), x.size(4)))
    return vae.encode_mean(x, chunk_frames, tile_share(progress, 0, n, 1));
  vae.config().check_video_shape(n, x.size(3), x.size(4), "vae encode");
  const TileGrid g = tile_grid(x.size(3) / sf, x.size(4) / sf, t.tile / sf, t.overlap / sf);
  int64_t tile = 0;
  return blend_tiles(g, 1, [&](int64_t y0, int64_t x0, int64_t h, int64_t w) {
    return vae.encode_mean(spatial_crop(x, y0 * sf, x0 * sf, h * sf, w * sf), chunk_frames,
                           tile_share(progress, tile++, n, tile_count(g)));
  });
}

Tensor decode_tiled(const Vae& vae, const Tensor& z, int64_t chunk_latents, const Tiling& t,
                    const TileProgress& progress) {
  const int64_t sf = vae.config().spatial_factor;
  check_tiling(t, sf);
  CUBIST_CHECK(z.dim() == 5, "vae decode: expects [B, C, T', H', W'] latents, got ", z.shape());
  const int64_t n = z.size(2);
  if (!tiles_frames(t, z.size(3) * sf, z.size(4) * sf))
    return vae.decode_chunked(z, chunk_latents, tile_share(progress, 0, n, 1));
  const TileGrid g = tile_grid(z.size(3), z.size(4), t.tile / sf, t.overlap / sf);
  int64_t tile = 0;
  return blend_tiles(g, sf, [&](int64_t y0, int64_t x0, int64_t h, int64_t w) {
    return vae.decode_chunked(spatial_crop(z, y0, x0, h, w), chunk_latents,
                              tile_share(progress, tile++, n, tile_count(g)));
  });
}

bool stream_in_chunks(int64_t frames, int64_t height, int64_t width, const Tiling& t) {
  return !tiles_frames(t, height, width) || frames > kStreamFrames;
}

TileStreams::TileStreams(const Vae& vae, int64_t H, int64_t W, const Tiling& t)
    : vae_(vae), sf_(vae.config().spatial_factor) {
  check_tiling(t, sf_);
  // One tile of the whole grid where the frames are not tiled.
  grid_ = tiles_frames(t, H * sf_, W * sf_) ? tile_grid(H, W, t.tile / sf_, t.overlap / sf_)
                                            : tile_grid(H, W, std::max(H, W), 0);
  streams_.resize(grid_.ys.size() * grid_.xs.size());
}

Tensor TileStreams::run(const Tensor& in, int64_t in_scale, int64_t out_scale, const char* what,
                        const Step& step) {
  CUBIST_CHECK(in.dim() == 5 && in.size(3) == grid_.height() * in_scale &&
                   in.size(4) == grid_.width() * in_scale,
               what, ": a chunk of ", in.shape(), " for a stream ", grid_.width() * in_scale,
               " wide and ", grid_.height() * in_scale, " high");
  if (streams_.size() == 1) return step(in.contiguous(), streams_[0]);
  size_t k = 0;
  return blend_tiles(grid_, out_scale, [&](int64_t y0, int64_t x0, int64_t h, int64_t w) {
    return step(spatial_crop(in, y0 * in_scale, x0 * in_scale, h * in_scale, w * in_scale),
                streams_[k++]);
  });
}

EncodeStream::EncodeStream(const Vae& vae, int64_t height, int64_t width, const Tiling& t)
    : TileStreams(vae, height / vae.config().spatial_factor, width / vae.config().spatial_factor,
                  t) {
  CUBIST_CHECK(height % sf_ == 0 && width % sf_ == 0, "vae encode: frames of ", width, "x", height,
               " are not a multiple of ", sf_, " a side");
}

Tensor EncodeStream::next(const Tensor& x) {
  return run(x, sf_, 1, "vae encode",
             [&](const Tensor& tile, CausalStream& s) { return vae_.encode_next(tile, s); });
}

DecodeStream::DecodeStream(const Vae& vae, int64_t latent_height, int64_t latent_width,
                           const Tiling& t)
    : TileStreams(vae, latent_height, latent_width, t) {}

Tensor DecodeStream::next(const Tensor& z) {
  return run(z, 1, sf_, "vae decode",
             [&](const Tensor& tile, CausalStream& s) { return vae_.decode_next(tile, s); });
}

}  // namespace cubist
