// How the latent cache cuts a manifest's videos into training clips. A transformer trains on a
// clip as one sequence of tokens, so a video of a minute at its native 1080p (about 2.9 million
// tokens under the default patches) cannot be one clip: the cache cuts it, as Sora's and
// Open-Sora's data pipelines do, into consecutive clips of at most clip_frames frames, read at
// `fps` and scaled so that the longer side is at most max_side, keeping the aspect ratio. Each
// clip is encoded on its own, so each begins with the autoencoder's lone first frame as every
// generated video does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/video.h"

namespace cubist {

struct ManifestEntry;
struct VaeConfig;

struct ClipCut {
  int64_t clip_frames = 0;  // at most this many frames a clip (1 + 4k); 0: the whole video
  int64_t max_side = 0;     // the longer side scaled down to at most this; 0: the native size
  double fps = 0.0;         // read at this rate; 0: the native rate

  // Whether any of the three is set: otherwise a video is one clip as it is (latent_cache.h).
  bool cuts() const { return clip_frames > 0 || max_side > 0 || fps > 0; }
  // An Error naming `what` unless the cut suits autoencoder c: clip_frames 1 + k x its temporal
  // factor, max_side at least its spatial factor, all finite and >= 0.
  void check(const VaeConfig& c, const std::string& what) const;
  // {"clip_frames", "max_side", "fps"}, as the cache folder and a run config record it.
  nlohmann::ordered_json to_json() const;
  // For messages: "clips of at most 17 frames, the longer side at most 256 px, at 8 fps".
  std::string str() const;
  // How frames are read, without the cut into clips: "the longer side at most 256 px, at 8 fps"
  // ("" when at their native size and rate).
  std::string reading() const;
  bool operator==(const ClipCut&) const = default;
};

// The size a video of h x w is read at under `cut` (its longer side at most max_side, never
// enlarged; the aspect kept), and the centred crop of that to multiples of spatial_factor that
// is encoded. An Error naming `what` when the crop is empty.
struct CutSize {
  int64_t read_height = 0, read_width = 0;  // 0: native
  int64_t height = 0, width = 0;            // after the crop
};
CutSize cut_size(const ClipCut& cut, int64_t spatial_factor, int64_t h, int64_t w,
                 const std::string& what);

// The frames of a video of `frames` and `duration` seconds read at the cut's rate: its frames,
// or resampled its duration times the rate; 0 when what that needs is unknown (0).
int64_t frames_at_rate(int64_t frames, double duration, const ClipCut& cut);
// frames_at_rate of video e, as the manifest lists it.
int64_t listed_frames(const ManifestEntry& e, const ClipCut& cut);

// Reads the video at `path` a clip at a time under `cut` and calls on_clip(clip, first) with
// each, `first` being its first frame's index in the video at the cut's rate. Clips take
// clip_frames frames, the last the most of what is left that the autoencoder takes
// (1 + temporal_factor k): the frames after it are dropped, never padded. Memory holds one
// clip (the whole video when clip_frames is 0).
void for_each_clip(const std::string& path, const ClipCut& cut, const VaeConfig& c,
                   const std::function<void(const Video& clip, int64_t first)>& on_clip);

}  // namespace cubist
