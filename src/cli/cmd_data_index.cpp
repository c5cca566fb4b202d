// `cubist data index DIR [--captions FILE] [--out MANIFEST]`: probes every video under DIR and
// writes a JSONL manifest (default DIR/manifest.jsonl), keeping the captions of the manifest it
// replaces. Files that cannot be read are listed on stderr, one line each, and skipped; a
// summary goes to stdout. Exit status: 0 when at least one video was indexed; 1 when none could
// be (or the manifest could not be written: a cubist::Error, reported by main()); 2 on bad
// arguments (a UsageError: options, DIR, the captions file, or an --out that is not a manifest).
// argv holds the arguments after `index`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/error.h"
#include "data/manifest.h"
#include "io/output_folder.h"
#include "io/video.h"

namespace cubist::cli {

namespace {

const char* kUsage =
    "usage: cubist data index DIR [--captions FILE] [--out MANIFEST]\n"
    "  DIR              folder searched recursively for .mp4 .webm .mkv .mov .avi .gif files,\n"
    "                   folders of PNG frames (numeric names: 000000.png, ...), and images\n"
    "                   (.png .jpg .jpeg .webp .bmp .tif .tiff outside such folders), which\n"
    "                   train as 1-frame videos beside the videos\n"
    "  --captions FILE  .jsonl ({\"path\": ..., \"caption\": ...} per line) or .csv (header\n"
    "                   path,caption; \"quoted\" fields may hold commas); paths relative to FILE.\n"
    "                   A video it leaves without a caption (or every video, without FILE)\n"
    "                   takes the text of a .txt file of its name beside it, if any\n"
    "                   (clip.mp4: clip.txt; a frame folder F/: F.txt)\n"
    "  --out MANIFEST   the JSONL manifest to write (default DIR/manifest.jsonl). When it\n"
    "                   exists, videos that --captions leaves without a caption keep the\n"
    "                   caption (prompt, description) it gave them";

// The first five lines of a list, indented, and how many more there are.
void print_first(const std::vector<std::string>& lines) {
  for (size_t i = 0; i < std::min<size_t>(lines.size(), 5); ++i)
    std::printf("  %s\n", lines[i].c_str());
  if (lines.size() > 5) std::printf("  and %zu more\n", lines.size() - 5);
}

}  // namespace

int cmd_data_index(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help")) {
    std::puts(kUsage);
    return 0;
  }
  const std::string captions = args.str("--captions", "");
  std::string out = args.str("--out", "");
  const std::vector<std::string> pos = args.positional();
  args.finish();
  if (pos.size() != 1)
    throw UsageError(pos.empty() ? std::string("which folder? DIR is missing\n") + kUsage
                                 : "one folder only, got '" + pos[0] + "' and '" + pos[1] + "'");
  const std::string& dir = pos[0];
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw UsageError(dir + ": not a folder");
  if (out.empty()) out = (std::filesystem::path(dir) / "manifest.jsonl").string();
  check_output_extension(out, ".jsonl", "a manifest");
  check_output_place(out);  // before the folder is scanned
  // The manifest this one replaces: its captions are kept; a file that is not one is not ours to
  // overwrite.
  std::vector<ManifestEntry> previous;
  if (std::filesystem::exists(out, ec)) {
    try {
      previous = read_manifest(out);
    } catch (const Error& e) {
      throw UsageError(out + " exists and is not a manifest (" + e.what() +
                       "); it is left as it is: choose another --out, or move it away");
    }
  }

  IndexResult r;
  std::unique_ptr<Progress> bar;
  try {
    r = index_videos(dir, captions, [&](int64_t done, int64_t total) {
      if (done == 0 && total > 0)
        bar = std::make_unique<Progress>("data index", total, "file");
      else if (bar)
        bar->update(done);
    });
  } catch (const Error& e) {  // the captions file is missing or malformed
    throw UsageError(e.what());
  }
  if (bar) bar->finish();
  for (const std::string& p : r.problems) std::fprintf(stderr, "skipped: %s\n", p.c_str());
  if (r.entries.empty()) {
    std::fprintf(stderr, "cubist data index: no readable video or image under %s\n", dir.c_str());
    return 1;
  }
  const CaptionsKept kept = keep_captions(r.entries, previous);
  write_manifest(out, r.entries);
  if (kept.kept > 0)
    std::printf("kept the captions of %lld video%s from the manifest it replaces\n",
                static_cast<long long>(kept.kept), kept.kept == 1 ? "" : "s");
  if (!kept.replaced.empty()) {
    const size_t n = kept.replaced.size();
    std::printf(
        "replaced the caption the manifest had for %zu video%s with a new one from "
        "--captions or a .txt file:\n",
        n, n == 1 ? "" : "s");
    print_first(kept.replaced);
  }
  if (!kept.dropped.empty()) {  // moved or deleted: their lines, and captions, are gone now
    const size_t n = kept.dropped.size();
    std::printf("left out %zu video%s the manifest it replaces listed, no longer found:\n", n,
                n == 1 ? "" : "s");
    print_first(kept.dropped);
  }
  int64_t captioned = 0, images = 0;
  double seconds = 0;  // of the videos: an image's duration is one frame at a nominal rate
  for (const ManifestEntry& e : r.entries) {
    captioned += !e.caption.empty();
    if (is_image_path(e.path))
      ++images;
    else
      seconds += e.duration;
  }
  const int64_t videos = static_cast<int64_t>(r.entries.size()) - images;
  std::printf("indexed %lld video%s (%.1f s in all)", static_cast<long long>(videos),
              videos == 1 ? "" : "s", seconds);
  if (images > 0)
    std::printf(" and %lld image%s", static_cast<long long>(images), images == 1 ? "" : "s");
  std::printf(", %lld captioned", static_cast<long long>(captioned));
  if (r.sidecar_captions > 0)
    std::printf(" (%lld from a .txt file beside them)", static_cast<long long>(r.sidecar_captions));
  std::printf("; %zu skipped; wrote %s\n", r.problems.size(), out.c_str());
  return 0;
}

}  // namespace cubist::cli
