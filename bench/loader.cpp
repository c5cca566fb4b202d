// Loader throughput: clips per second of 17x64x64 clips, decoded by the Loader's worker threads
// from folders of PNG frames and from H.264 MP4 files that this program writes first.
//   bench_loader [--clips N] [--workers W] [--epochs E] [--dir DIR]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "data/loader.h"
#include "data/manifest.h"
#include "io/video.h"

namespace {

namespace fs = std::filesystem;
using cubist::Video;

// A coloured disc moving over a gradient: content that codes like real footage of shapes.
Video synthetic_clip(int i) {
  Video v(17, 64, 64, 8.0);
  for (int64_t t = 0; t < 17; ++t)
    for (int64_t y = 0; y < 64; ++y)
      for (int64_t x = 0; x < 64; ++x) {
        uint8_t* p = v.pixel(t, y, x);
        const double cx = 16 + (i * 7 + 2 * t) % 32, cy = 32 + 10 * std::sin(0.4 * t + i);
        const bool in = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 100;
        p[0] = in ? 230 : uint8_t(2 * x);
        p[1] = in ? uint8_t(40 + 10 * (i % 8)) : uint8_t(2 * y);
        p[2] = in ? 40 : uint8_t(90 + i % 64);
      }
  return v;
}

double run(const std::vector<cubist::ClipRef>& clips, int workers, int epochs) {
  cubist::LoaderOptions o;
  o.buckets = {{17, 64, 64}};
  o.batch_size = 8;
  o.workers = workers;
  o.prefetch = 4;
  cubist::Loader loader(clips, cubist::file_decoder(), o);
  cubist::Batch b;
  loader.start_epoch(0);  // warm-up: page cache, allocator
  while (loader.next(b)) {
  }
  int64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs; ++e) {
    loader.start_epoch(e);
    while (loader.next(b)) n += b.video.size(0);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return n / s;
}

}  // namespace

int main(int argc, char** argv) {
  int clips = 128, workers = 2, epochs = 3;
  std::string dir = (fs::temp_directory_path() / "cubist_bench_loader").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--clips"))
      clips = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--workers"))
      workers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--epochs"))
      epochs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: bench_loader [--clips N] [--workers W] [--epochs E] [--dir D]\n");
      return 2;
    }
  }
  fs::remove_all(dir);
  fs::create_directories(dir + "/png");
  fs::create_directories(dir + "/mp4");
  for (int i = 0; i < clips; ++i) {
    const Video v = synthetic_clip(i);
    char name[64];
    std::snprintf(name, sizeof name, "/png/clip%04d/", i);
    cubist::write_video(dir + name, v);
    std::snprintf(name, sizeof name, "/mp4/clip%04d.mp4", i);
    cubist::write_video(dir + name, v);
  }
  std::printf("loader: %d clips of 17x64x64, batch 8, %d workers, %d epochs timed\n", clips,
              workers, epochs);
  for (const char* kind : {"png", "mp4"}) {
    const cubist::IndexResult idx = cubist::index_videos(dir + "/" + kind);
    const auto refs = cubist::clips_from_manifest(idx.entries);
    std::printf("  %-22s %8.0f clips/s\n",
                (std::string(kind) == "png" ? "PNG-frame folders" : "H.264 MP4 (crf 17)"),
                run(refs, workers, epochs));
  }
  fs::remove_all(dir);
  return 0;
}
