// The video autoencoder's configuration: sizes as data (a JSON file), not code.
//
// The encoder has one level per entry of channel_multipliers (level i has channels *
// multiplier[i] channels and blocks_per_level residual blocks); between consecutive levels sits a
// transition that halves space (the first log2(spatial_factor) transitions) and time (the
// transitions listed in temporal_downsample). The decoder mirrors it. So with four levels,
// spatial_factor 8 and temporal_downsample [0, 1], a clip of T x H x W frames has a latent of
// (1 + (T-1)/4) x H/8 x W/8 with latent_channels channels.
//
// JSON, every field optional (defaults below are the Shapes World model, 4x8x8 with 16 channels):
//   {"in_channels": 3, "latent_channels": 16, "channels": 16, "channel_multipliers": [1, 2, 4, 4],
//    "blocks_per_level": 1, "mid_blocks": 1, "spatial_factor": 8, "temporal_downsample": [0, 1],
//    "groups": 8}
// A file may also hold {"model": {...}, "train": {...}}: from_json reads the "model" object
// (defaults when a sectioned file has none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cubist {

struct VaeConfig {
  int64_t in_channels = 3;
  int64_t latent_channels = 16;
  int64_t channels = 16;
  std::vector<int64_t> channel_multipliers = {1, 2, 4, 4};
  int64_t blocks_per_level = 1;  // in the encoder and in the decoder
  int64_t mid_blocks = 1;        // at the lowest resolution, in encoder and decoder
  int64_t spatial_factor = 8;    // a power of two: 1, 2, 4, ...
  std::vector<int64_t> temporal_downsample = {0, 1};  // transitions that halve time
  int64_t groups = 8;                                 // group norm groups

  int64_t levels() const { return static_cast<int64_t>(channel_multipliers.size()); }
  int64_t level_channels(int64_t level) const { return channels * channel_multipliers[level]; }
  int64_t spatial_downsamples() const;  // log2(spatial_factor)
  int64_t temporal_factor() const { return int64_t{1} << temporal_downsample.size(); }
  bool halves_space(int64_t transition) const { return transition < spatial_downsamples(); }
  bool halves_time(int64_t transition) const;

  // Throws cubist::Error listing every field that is out of range or inconsistent.
  void validate() const;
  // "4x8x8 c16" style summary: temporal x spatial x spatial, latent channels.
  std::string summary() const;
  // Frame counts and sizes the network takes: T = 1 + temporal_factor * k, H and W multiples
  // of spatial_factor. Throw cubist::Error naming `what` and saying what is expected.
  void check_video_shape(int64_t frames, int64_t height, int64_t width,
                         const std::string& what) const;
  int64_t latent_frames(int64_t frames) const { return 1 + (frames - 1) / temporal_factor(); }
  int64_t video_frames(int64_t latent_frames) const {
    return 1 + (latent_frames - 1) * temporal_factor();
  }

  static VaeConfig from_json(const nlohmann::json& j);  // validated; unknown fields are errors
  static VaeConfig from_file(const std::string& path);
  nlohmann::ordered_json to_json() const;
  bool operator==(const VaeConfig&) const = default;
};

}  // namespace cubist
