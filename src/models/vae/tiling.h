// Spatial tiling: encoding and decoding frames larger than a tile one overlapping tile at a time,
// so that memory is bounded by the tile (and the time chunk) however large the frames are. Each
// tile runs through the network on its own and neighbouring tiles are blended by weights that
// ramp linearly across their overlap (the seams of one tile's border effects fade into the
// other's interior), as tiled autoencoders for large images and videos commonly do. Unlike
// chunking in time, which is exact (every layer is causal), tiling is an approximation: group
// norm sees the tile's statistics, not the frame's, and a tile's edge is padded where the frame
// goes on. Frames no larger than a tile run whole, so they get exactly the untiled result.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "models/vae/layers.h"

namespace cubist {

class Vae;

// Pixels a side of a tile, and pixels shared by neighbouring tiles. 256 holds every size of
// Shapes World whole; a tile of 256x256 and 16 frames needs about 1 GB to encode.
inline constexpr int64_t kTilePixels = 256;
inline constexpr int64_t kTileOverlapPixels = 64;

struct Tiling {
  int64_t tile = kTilePixels;  // 0: whole frames, however large
  int64_t overlap = kTileOverlapPixels;
};

// The starts of tiles of `tile` cells covering [0, length) with at least `overlap` cells shared
// by neighbours; every tile is whole (the last one ends at `length`), so tiles share one shape.
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap);

// The weight of each of the `tile` * scale cells of tile i (of `starts`, in units of `scale`
// cells): 1 inside, ramping linearly to near 0 across the overlap with each neighbour.
std::vector<float> tile_weights(const std::vector<int64_t>& starts, size_t i, int64_t tile,
                                int64_t scale);

// Tiles over an H x W grid of latent cells: their starts along each axis and their size (the
// whole axis where it is no longer than a tile).
struct TileGrid {
  std::vector<int64_t> ys, xs;
  int64_t h = 0, w = 0;
  int64_t height() const { return ys.back() + h; }  // of the grid the tiles cover
  int64_t width() const { return xs.back() + w; }
};
TileGrid tile_grid(int64_t H, int64_t W, int64_t tile, int64_t overlap);

// Runs `run(y0, x0, h, w)` on every tile of the grid (in latent cells) and blends its outputs,
// [B, C, T, h * scale, w * scale] (scale: output cells a latent cell), into one [B, C, T,
// H * scale, W * scale]: each output cell the weighted mean of the tiles that cover it.
using TileRun = std::function<Tensor(int64_t y0, int64_t x0, int64_t h, int64_t w)>;
Tensor blend_tiles(const TileGrid& grid, int64_t scale, const TileRun& run);

// Whether frames of height x width pixels are cut into tiles: t.tile > 0 and a side larger.
bool tiles_frames(const Tiling& t, int64_t height, int64_t width);

// vae.encode_mean(x, chunk_frames) and vae.decode_chunked(z, chunk_latents), tile by tile where a
// frame is larger than t.tile pixels in either direction. x [1, 3, T, H, W], z [1, C, T', H', W'].
// `progress`, when given, hears the frames encoded (latent frames decoded) so far, over every
// tile, and how many that is in all (tiles x frames).
using TileProgress = std::function<void(int64_t done, int64_t total)>;
Tensor encode_tiled(const Vae& vae, const Tensor& x, int64_t chunk_frames, const Tiling& t = {},
                    const TileProgress& progress = {});
Tensor decode_tiled(const Vae& vae, const Tensor& z, int64_t chunk_latents, const Tiling& t = {},
                    const TileProgress& progress = {});

// Whether a video of `frames` frames of height x width is better run a chunk of frames at a time
// (EncodeStream, DecodeStream) than tile by tile over the whole video (encode_tiled,
// decode_tiled). Untiled, streaming only saves memory. Tiled, each tile's stream keeps its
// convolutions' last frames, about 1.1 KB a pixel of the frame to encode and 1.6 KB to decode for
// the bundled model (17 frames of 1920x1080: 3.8 and 4.8 GB streamed, against 1.4 GB tile by
// tile), where holding the video costs about 15 bytes a pixel of every frame: so videos of more
// than kStreamFrames frames stream, shorter ones go tile by tile.
inline constexpr int64_t kStreamFrames = 64;
bool stream_in_chunks(int64_t frames, int64_t height, int64_t width, const Tiling& t);

// A video encoded, or a latent decoded, a chunk of frames at a time, for videos too long to hold
// whole: tile by tile where the frames are larger than a tile, each tile with its own causal
// stream, so the chunks' results, concatenated, are encode_tiled's and decode_tiled's with the
// same chunks (the first chunk: frame 0 alone; then multiples of the temporal factor for frames,
// any number of latent frames).
class TileStreams {
 protected:
  // The tiles over a latent grid of H x W cells, each with its causal stream.
  TileStreams(const Vae& vae, int64_t H, int64_t W, const Tiling& t);
  // Runs `step` on each tile's crop of `in` (in_scale cells a latent cell) with that tile's
  // stream and blends the results (out_scale cells a latent cell).
  using Step = std::function<Tensor(const Tensor& tile, CausalStream& stream)>;
  Tensor run(const Tensor& in, int64_t in_scale, int64_t out_scale, const char* what,
             const Step& step);

  const Vae& vae_;
  int64_t sf_;

 private:
  TileGrid grid_;
  std::vector<CausalStream> streams_;  // one per tile, row by row; one when untiled
};

class EncodeStream : TileStreams {
 public:
  EncodeStream(const Vae& vae, int64_t height, int64_t width, const Tiling& t = {});
  Tensor next(const Tensor& x_chunk);  // [1, 3, T, H, W] -> that chunk's latent frames
};

class DecodeStream : TileStreams {
 public:
  DecodeStream(const Vae& vae, int64_t latent_height, int64_t latent_width, const Tiling& t = {});
  Tensor next(const Tensor& z_chunk);  // [1, C, T', H', W'] -> that chunk's frames
};

// A clear error unless t fits the autoencoder (tile and overlap multiples of its spatial factor,
// the overlap 0 or more and smaller than the tile), naming the two settings as given.
void check_tiling(const Tiling& t, int64_t spatial_factor, const char* tile_name = "tile",
                  const char* overlap_name = "tile overlap");

}  // namespace cubist
