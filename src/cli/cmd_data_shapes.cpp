// `cubist data shapes`: writes a Shapes World dataset (clips + manifest.jsonl).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/shapes_dataset.h"
#include "io/video.h"

namespace {

constexpr const char* kUsage =
    "usage: cubist data shapes --out DIR [--clips 100] [--sizes 64x64] [--frames 1,9,17,33]\n"
    "                          [--seed S] [--format mp4|png|webm|gif]\n"
    "Writes N Shapes World clips (clip i depends only on the seed and i) and DIR/manifest.jsonl\n"
    "with path, caption, prompt, description, frames, fps, width, height, duration. A DIR that\n"
    "already holds a manifest.jsonl is refused (its data set is kept), and so is one holding a\n"
    "file of a clip's name that an interrupted run of this did not write.\n"
    "Sizes: multiples of 16 in [32, 256]. Frames: 1 + 4k, at most 33. Defaults: --clips 100\n"
    "--sizes 64x64 --frames 1,9,17,33 --seed 0 --format mp4.\n";

}  // namespace

namespace cubist::cli {

int cmd_data_shapes(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  const std::string out = args.str("--out", "");
  const int64_t clips = args.integer("--clips", 100);
  const uint64_t seed = args.seed("--seed", 0);
  const std::string format = args.str("--format", "mp4");
  const std::string size_list = args.str("--sizes", "64x64");
  const std::string frame_list = args.str("--frames", "1,9,17,33");
  args.finish();
  // Every problem at once, before anything is written: one run to fix them all.
  std::vector<std::string> problems;
  if (out.empty()) problems.push_back("--out DIR is required: the folder to write the data set in");
  if (clips < 1)
    problems.push_back("--clips takes a whole number >= 1, not " + std::to_string(clips));
  if (format != "mp4" && format != "png" && format != "webm" && format != "gif")
    problems.push_back("--format takes mp4, png, webm or gif, not '" + format + "'");
  std::vector<cubist::shapes::ClipSize> sizes;
  std::vector<int> frames;
  try {
    sizes = cubist::shapes::parse_sizes(size_list);
  } catch (const cubist::Error& e) {
    problems.push_back(std::string("--sizes: ") + e.what());
  }
  try {
    frames = cubist::shapes::parse_frame_counts(frame_list);
  } catch (const cubist::Error& e) {
    problems.push_back(std::string("--frames: ") + e.what());
  }
  if (!problems.empty()) throw UsageError(cubist::join(problems, "; "));
  std::vector<std::string> errors;
  cubist::cli::Progress bar("data shapes", static_cast<int64_t>(clips), "clip");
  int64_t written = 0;
  const auto records = cubist::shapes::generate_dataset(
      out, clips, sizes, frames, seed,
      // Near-lossless H.264 (CRF 8): objects of 32-pixel clips are 6 pixels across, and at the
      // default CRF 17 chroma blur makes a few of them ambiguous to the checker. The files
      // stay small (flat colours).
      [&](const std::string& path, const cubist::Video& v) {
        cubist::VideoWriteOptions near_lossless;
        near_lossless.crf = 8;
        cubist::write_video(path, v, near_lossless);
        bar.update(++written);
      },
      format, &errors, stop_on_signals());
  bar.finish();
  for (const std::string& e : errors) std::fprintf(stderr, "cubist data shapes: %s\n", e.c_str());
  std::printf("wrote %zu of %lld clips to %s (manifest %s/manifest.jsonl)\n", records.size(),
              static_cast<long long>(clips), out.c_str(), out.c_str());
  return errors.empty() ? 0 : 1;
}

}  // namespace cubist::cli
