// `cubist data shapes`: writes a Shapes World dataset (clips + manifest.jsonl).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/shapes_dataset.h"
#include "io/video.h"

namespace {

constexpr const char* kUsage =
    "usage: cubist data shapes --out DIR [--clips N] [--sizes 64x64,96x64] [--frames 1,9,17,33]\n"
    "                          [--seed S] [--format mp4|png|webm|gif]\n"
    "Writes N Shapes World clips (clip i depends only on the seed and i) and DIR/manifest.jsonl\n"
    "with path, caption, prompt, description, frames, fps, width, height, duration. A DIR that\n"
    "already holds a manifest.jsonl is refused (its data set is kept).\n"
    "Sizes: multiples of 16 in [32, 256]. Frames: 1 + 4k, at most 33. Defaults: --clips 100\n"
    "--sizes 64x64 --frames 1,9,17,33 --seed 0 --format mp4.\n";

// A whole non-negative number, or false.
bool to_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

namespace cubist::cli {

int cmd_data_shapes(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"--clips", "100"},        {"--sizes", "64x64"},
                                            {"--frames", "1,9,17,33"}, {"--seed", "0"},
                                            {"--format", "mp4"},       {"--out", ""}};
  std::vector<std::string> problems;
  std::set<std::string> given;
  for (int i = 0; i < argc; ++i) {  // argv: the arguments after the command's name
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (!opt.count(a)) {
      problems.push_back("unknown option '" + a + "'");
    } else if (!given.insert(a).second) {
      problems.push_back("option " + a + " is given twice; give it once");
      ++i;
    } else if (i + 1 >= argc) {
      problems.push_back("option " + a + " needs a value");
    } else {
      opt[a] = argv[++i];
    }
  }
  uint64_t clips = 0, seed = 0;
  std::vector<cubist::shapes::ClipSize> sizes;
  std::vector<int> frames;
  if (opt["--out"].empty()) problems.push_back("--out DIR is required");
  if (!to_u64(opt["--clips"], &clips) || clips == 0)
    problems.push_back("--clips '" + opt["--clips"] + "' is not a whole number >= 1");
  if (!to_u64(opt["--seed"], &seed))
    problems.push_back("--seed '" + opt["--seed"] + "' is not a whole number >= 0");
  const std::string& format = opt["--format"];
  if (format != "mp4" && format != "png" && format != "webm" && format != "gif")
    problems.push_back("--format '" + format + "' is not one of mp4, png, webm, gif");
  try {
    sizes = cubist::shapes::parse_sizes(opt["--sizes"]);
  } catch (const cubist::Error& e) {
    problems.push_back(std::string("--sizes: ") + e.what());
  }
  try {
    frames = cubist::shapes::parse_frame_counts(opt["--frames"]);
  } catch (const cubist::Error& e) {
    problems.push_back(std::string("--frames: ") + e.what());
  }
  if (!problems.empty()) {
    for (const std::string& p : problems)
      std::fprintf(stderr, "cubist data shapes: %s\n", p.c_str());
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  std::vector<std::string> errors;
  cubist::cli::Progress bar("data shapes", static_cast<int64_t>(clips), "clip");
  int64_t written = 0;
  try {
    const auto records = cubist::shapes::generate_dataset(
        opt["--out"], static_cast<int64_t>(clips), sizes, frames, seed,
        // Near-lossless H.264 (CRF 8): objects of 32-pixel clips are 6 pixels across, and at the
        // default CRF 17 chroma blur makes a few of them ambiguous to the checker. The files
        // stay small (flat colours).
        [&](const std::string& path, const cubist::Video& v) {
          cubist::VideoWriteOptions near_lossless;
          near_lossless.crf = 8;
          cubist::write_video(path, v, near_lossless);
          bar.update(++written);
        },
        format, &errors);
    bar.finish();
    for (const std::string& e : errors) std::fprintf(stderr, "cubist data shapes: %s\n", e.c_str());
    std::printf("wrote %zu of %llu clips to %s (manifest %s/manifest.jsonl)\n", records.size(),
                static_cast<unsigned long long>(clips), opt["--out"].c_str(), opt["--out"].c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cubist data shapes: %s\n", e.what());
    return 1;
  }
  return errors.empty() ? 0 : 1;
}

}  // namespace cubist::cli
