// Shapes World datasets (see shapes_dataset.h).
#include "data/shapes_dataset.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/rng.h"
#include "data/shapes_caption.h"
#include "data/shapes_raster.h"
#include "data/shapes_sample.h"
#include "io/output_folder.h"
#include "io/text_file.h"

namespace cubist::shapes {
namespace {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    const size_t end = text.find(sep, i);
    out.emplace_back(text.substr(i, end == std::string_view::npos ? text.npos : end - i));
    if (end == std::string_view::npos) return out;
    i = end + 1;
  }
}

// A whole decimal number, or -1.
int to_int(const std::string& s) {
  if (s.empty() || s.size() > 6) return -1;
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::vector<ClipSize> parse_sizes(std::string_view text) {
  std::vector<ClipSize> sizes;
  std::string problems;
  for (const std::string& item : split(text, ',')) {
    const size_t x = item.find('x');
    const int w = x == std::string::npos ? -1 : to_int(item.substr(0, x));
    const int h = x == std::string::npos ? -1 : to_int(item.substr(x + 1));
    if (w < 0 || h < 0) {
      problems += "; \"" + item + "\" is not WIDTHxHEIGHT (for example 96x64)";
      continue;
    }
    try {
      check_clip_size(w, h);
      sizes.push_back({w, h});
    } catch (const Error& e) {
      problems += std::string("; ") + e.what();
    }
  }
  CUBIST_CHECK(problems.empty(), "sizes \"", text, "\"", problems);
  return sizes;
}

std::vector<int> parse_frame_counts(std::string_view text) {
  std::vector<int> counts;
  std::string problems;
  for (const std::string& item : split(text, ',')) {
    const int t = to_int(item);
    if (t < 0) {
      problems += "; \"" + item + "\" is not a whole number of frames";
      continue;
    }
    try {
      check_frame_count(t);
      counts.push_back(t);
    } catch (const Error& e) {
      problems += std::string("; ") + e.what();
    }
  }
  CUBIST_CHECK(problems.empty(), "frame counts \"", text, "\"", problems);
  return counts;
}

namespace {

// The first two draws of a clip: its size, then its frame count.
ClipExtent draw_extent(Generator& gen, const std::vector<ClipSize>& sizes,
                       const std::vector<int>& frame_counts) {
  CUBIST_CHECK(!sizes.empty() && !frame_counts.empty(),
               "shapes dataset: the lists of sizes and frame counts must not be empty");
  const ClipSize size = sizes[gen.randint(sizes.size())];
  return {size, frame_counts[gen.randint(frame_counts.size())]};
}

}  // namespace

ClipExtent clip_extent(uint64_t seed, uint64_t index, const std::vector<ClipSize>& sizes,
                       const std::vector<int>& frame_counts) {
  Generator gen(seed, index);
  return draw_extent(gen, sizes, frame_counts);
}

ShapesClip make_clip(uint64_t seed, uint64_t index, const std::vector<ClipSize>& sizes,
                     const std::vector<int>& frame_counts) {
  Generator gen(seed, index);
  const auto [size, frames] = draw_extent(gen, sizes, frame_counts);
  ShapesClip clip;
  clip.scene = sample_scene(size.width, size.height, frames, gen);
  const SceneSpec spec = clip.scene.spec();
  clip.caption = canonical_caption(spec);
  clip.prompt = short_prompt(spec);
  clip.description = describe(spec, gen);
  return clip;
}

std::string clip_file_name(uint64_t index, const std::string& format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "clip_%06llu", static_cast<unsigned long long>(index));
  return format == "png" ? std::string(buf) : std::string(buf) + "." + format;
}

// In a data set's folder while its clips are written, gone once its manifest is: what lets a run
// again after an interruption write over the clips it made.
constexpr const char* kUnfinishedMark = ".unfinished";

std::vector<ManifestEntry> generate_dataset(const std::string& out_dir, int64_t clips,
                                            const std::vector<ClipSize>& sizes,
                                            const std::vector<int>& frame_counts, uint64_t seed,
                                            const VideoWriter& write, const std::string& format,
                                            std::vector<std::string>* errors,
                                            const std::atomic<bool>* stop) {
  CUBIST_CHECK(clips >= 0, "shapes dataset: the number of clips must be >= 0, not ", clips);
  CUBIST_CHECK(!format.empty() && format.find_first_of("/. ") == std::string::npos,
               "shapes dataset: format \"", format, "\" should be png, mp4, webm or gif");
  for (const ClipSize& s : sizes) check_clip_size(s.width, s.height);
  for (const int t : frame_counts) check_frame_count(t);
  // Another data set's clips and manifest would be overwritten, and clips beyond this one's count
  // left behind, unlisted: refuse rather than lose them.
  const std::filesystem::path manifest = std::filesystem::path(out_dir) / "manifest.jsonl";
  CUBIST_CHECK(!std::filesystem::exists(manifest), "shapes dataset: ", out_dir,
               " already holds a data set (", manifest.string(),
               "); writing another there would replace it. Choose another folder, or remove that "
               "one first");
  // A file of a clip's name is written over only where an interrupted run of this left its mark
  // (it wrote that clip); elsewhere it is someone's file, kept.
  const std::filesystem::path unfinished = std::filesystem::path(out_dir) / kUnfinishedMark;
  if (!std::filesystem::exists(unfinished))
    for (int64_t i = 0; i < clips; ++i) {
      const auto file = std::filesystem::path(out_dir) / clip_file_name(uint64_t(i), format);
      CUBIST_CHECK(!std::filesystem::exists(file), "shapes dataset: ", file.string(),
                   " is there already, and no unfinished data set of Cubist's is: writing "
                   "clip ",
                   i, " would replace it. Choose another folder, or move it first");
    }
  make_output_folder(out_dir);
  write_text_file(unfinished.string(), "clips are being written; the manifest comes last\n");
  std::vector<ManifestEntry> records;
  for (int64_t i = 0; i < clips; ++i) {
    CUBIST_CHECK(!stop || !stop->load(), "interrupted after ", i, " of ", clips,
                 " clips, before the manifest; ", out_dir,
                 " holds the clips written so far: the same command again writes them all");
    const std::string file = clip_file_name(static_cast<uint64_t>(i), format);
    try {
      const ShapesClip clip = make_clip(seed, static_cast<uint64_t>(i), sizes, frame_counts);
      write((std::filesystem::path(out_dir) / file).string(), render(clip.scene));
      const Scene& s = clip.scene;
      records.push_back({(std::filesystem::path(out_dir) / file).string(), clip.caption, s.frames,
                         kFps, s.width, s.height, s.frames / kFps, clip.prompt, clip.description});
    } catch (const std::exception& e) {
      if (!errors) throw;
      errors->push_back(detail::concat("clip ", i, " (", file, "): ", e.what()));
    }
  }
  write_manifest(manifest.string(), records);
  std::filesystem::remove(unfinished);
  return records;
}

}  // namespace cubist::shapes
