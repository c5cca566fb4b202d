// Shapes World datasets: clip i of a dataset is drawn from Philox stream i under the dataset's
// seed, so each clip depends only on (seed, i), never on the other clips or on how many there are.
// Files are written through a callback (the command line passes io's write_video), and a JSONL
// manifest lists every clip with its captions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/manifest.h"
#include "data/shapes_world.h"
#include "io/video.h"

namespace cubist::shapes {

struct ClipSize {
  int width, height;
  bool operator==(const ClipSize&) const = default;
};

// "64x64,96x64" -> {{64, 64}, {96, 64}}; "1,9,17" -> {1, 9, 17}. Throw cubist::Error listing every
// entry that is malformed or outside the world's rules (multiples of 16 in [32, 256]; 1 + 4k <=
// 33).
std::vector<ClipSize> parse_sizes(std::string_view text);
std::vector<int> parse_frame_counts(std::string_view text);

// One clip: its scene and three captions.
struct ShapesClip {
  Scene scene;
  std::string caption;      // canonical
  std::string prompt;       // short
  std::string description;  // rich
};

// The size and frame count of make_clip(seed, index, sizes, frame_counts) without the rest of
// the clip: its first two draws, which make_clip takes from here.
struct ClipExtent {
  ClipSize size;
  int frames;
};
ClipExtent clip_extent(uint64_t seed, uint64_t index, const std::vector<ClipSize>& sizes,
                       const std::vector<int>& frame_counts);

// Clip `index` of the dataset with this seed: size and length uniform over the lists, then the
// scene, then the description's phrasing, all from Generator(seed, stream = index).
ShapesClip make_clip(uint64_t seed, uint64_t index, const std::vector<ClipSize>& sizes,
                     const std::vector<int>& frame_counts);

using VideoWriter = std::function<void(const std::string& path, const Video& video)>;

// The file name of clip i: "clip_000042.mp4" for format "mp4", "clip_000042" (a folder of PNG
// frames) for "png". Other formats: any extension FFmpeg writes ("webm", "gif").
std::string clip_file_name(uint64_t index, const std::string& format);

// Writes `clips` clips into out_dir (created if missing; refused, an Error, if it already holds a
// manifest.jsonl) with `write`, then out_dir/manifest.jsonl
// through write_manifest (fields path, caption, prompt, description, frames, fps, width, height,
// duration; paths relative to out_dir). Returns the entries, with paths out_dir/clip_....
// When errors is null the first failure throws; otherwise each failure is appended to *errors
// ("clip 12 (clip_000012.mp4): <why>"), the clip is left out of the manifest and the rest go on.
// When `stop` turns true (Ctrl-C) an Error ends the work before the next clip, saying how far it
// came; clip i depends on the seed and i alone, so the same call again writes the same clips.
std::vector<ManifestEntry> generate_dataset(const std::string& out_dir, int64_t clips,
                                            const std::vector<ClipSize>& sizes,
                                            const std::vector<int>& frame_counts, uint64_t seed,
                                            const VideoWriter& write,
                                            const std::string& format = "mp4",
                                            std::vector<std::string>* errors = nullptr,
                                            const std::atomic<bool>* stop = nullptr);

}  // namespace cubist::shapes
