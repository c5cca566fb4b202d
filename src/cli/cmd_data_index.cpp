// `cubist data index DIR [--captions FILE] [--out MANIFEST]`: probes every video under DIR and
// writes a JSONL manifest (default DIR/manifest.jsonl). Files that cannot be read are listed on
// stderr, one line each, and skipped. Exits 0 when at least one video was indexed, 1 when none
// could be (or the manifest could not be written), 2 on bad arguments (options, DIR or captions).
// main.cpp dispatches here with argv[0] = "index".
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/cmd_data_index.h"
#include "core/error.h"
#include "data/manifest.h"

namespace {

void usage(FILE* f) {
  std::fprintf(
      f,
      "usage: cubist data index DIR [--captions FILE] [--out MANIFEST]\n"
      "  DIR              folder searched recursively for .mp4 .webm .mkv .mov .avi .gif\n"
      "                   files and folders of PNG frames (000000.png, ...)\n"
      "  --captions FILE  captions: .jsonl ({\"path\": ..., \"caption\": ...} per line)\n"
      "                   or .csv (header path,caption); paths relative to FILE's folder\n"
      "  --out MANIFEST   where to write the JSONL manifest (default DIR/manifest.jsonl)\n");
}

}  // namespace

int cmd_data_index(int argc, char** argv) {
  std::string dir, captions, out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "--captions" || a == "--out") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cubist data index: %s needs a value\n", a.c_str());
        usage(stderr);
        return 2;
      }
      (a == "--captions" ? captions : out) = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "cubist data index: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (dir.empty()) {
      dir = a;
    } else {
      std::fprintf(stderr, "cubist data index: one folder only, got '%s' and '%s'\n", dir.c_str(),
                   a.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "cubist data index: which folder? DIR is missing\n");
    usage(stderr);
    return 2;
  }
  if (out.empty()) out = (std::filesystem::path(dir) / "manifest.jsonl").string();
  cubist::IndexResult r;
  try {
    r = cubist::index_videos(dir, captions);
  } catch (const cubist::Error& e) {  // DIR is no folder, or the captions file is unusable
    std::fprintf(stderr, "cubist data index: %s\n", e.what());
    usage(stderr);
    return 2;
  }
  try {
    for (const std::string& p : r.problems) std::fprintf(stderr, "skipped: %s\n", p.c_str());
    if (r.entries.empty()) {
      std::fprintf(stderr, "cubist data index: no readable video under %s\n", dir.c_str());
      return 1;
    }
    cubist::write_manifest(out, r.entries);
    int64_t captioned = 0;
    double seconds = 0;
    for (const auto& e : r.entries) captioned += !e.caption.empty(), seconds += e.duration;
    std::printf("indexed %zu videos (%lld captioned, %.1f s in all), %zu problems: wrote %s\n",
                r.entries.size(), static_cast<long long>(captioned), seconds, r.problems.size(),
                out.c_str());
    return 0;
  } catch (const cubist::Error& e) {
    std::fprintf(stderr, "cubist data index: %s\n", e.what());
    return 1;
  }
}
