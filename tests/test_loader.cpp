// The loader: fitting clips to buckets, epochs reproducible from the seed and independent of the
// number of workers, bounded prefetch, errors delivered in order, and real files end to end.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "data/loader.h"
#include "testing.h"
#include "video_testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using LoaderTest = testing::VideoTest;

// A stand-in generator: clip `id` is filled with a value made from its id, frame and the seed.
DecodedClip synthetic(const ClipRef& c, const Bucket&, uint64_t seed) {
  Video v(c.frames, c.height, c.width, 8.0);
  for (int64_t t = 0; t < c.frames; ++t)
    std::fill_n(v.frame(t), c.height * c.width * 3, uint8_t((c.id * 37 + t * 5 + seed % 7) % 256));
  return {std::move(v), c.caption.empty() ? "generated " + std::to_string(c.id) : ""};
}

std::vector<ClipRef> mixed_clips(int n) {
  const int64_t sizes[][3] = {{1, 64, 64}, {9, 64, 96}, {17, 64, 64}, {5, 96, 64}, {20, 48, 100}};
  std::vector<ClipRef> clips;
  for (int i = 0; i < n; ++i) {
    const auto* s = sizes[i % 5];
    clips.push_back({"", i % 3 ? "caption " + std::to_string(i) : "", s[0], s[1], s[2], i});
  }
  return clips;
}

LoaderOptions small_grid(int workers, uint64_t seed) {
  LoaderOptions o;
  o.buckets = make_buckets({.area = 64 * 64, .multiple = 16, .frames = {1, 5, 9, 17}});
  o.batch_size = 3;
  o.workers = workers;
  o.prefetch = 2;
  o.seed = seed;
  return o;
}

std::vector<Batch> epoch(Loader& l, int64_t e) {
  l.start_epoch(e);
  std::vector<Batch> out;
  Batch b;
  while (l.next(b)) out.push_back(b);
  return out;
}

TEST(Loader, FitToBucketCoversThenCropsTheCentre) {
  Video v(5, 32, 48, 8.0);  // already the cover size of 32x32: only the crop remains
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 48; ++x)
        v.pixel(t, y, x)[0] = uint8_t(x), v.pixel(t, y, x)[1] = uint8_t(t);
  const Video f = fit_to_bucket(v, {3, 32, 32});
  EXPECT_EQ(f.frames, 3);
  EXPECT_EQ(f.pixel(0, 0, 0)[0], 8);  // (48 - 32) / 2 columns cut from the left
  EXPECT_EQ(f.pixel(2, 31, 31)[0], 39);
  EXPECT_EQ(f.pixel(2, 0, 0)[1], 2);  // the first frames are kept
  const Video g = fit_to_bucket(testing::smooth_video(2, 40, 60, 8.0), {1, 32, 32});
  EXPECT_EQ(g.height, 32);
  EXPECT_EQ(g.width, 32);
  EXPECT_THROW(fit_to_bucket(v, {9, 32, 32}), Error);
}

TEST(Loader, EpochsAreReproducibleAndIndependentOfWorkers) {
  const std::vector<ClipRef> clips = mixed_clips(23);
  Loader l0(clips, synthetic, small_grid(0, 11));
  const std::vector<Batch> ref = epoch(l0, 0);
  // Every clip exactly once, every batch of one bucket, values exact.
  std::multiset<int64_t> seen;
  for (const Batch& b : ref) {
    ASSERT_EQ(b.video.shape(),
              (Dims{int64_t(b.clips.size()), 3, b.bucket.frames, b.bucket.height, b.bucket.width}));
    for (size_t k = 0; k < b.clips.size(); ++k) {
      seen.insert(b.clips[k]);
      EXPECT_EQ(l0.options().buckets[l0.bucket_of(b.clips[k])], b.bucket);
      const ClipRef& c = clips[b.clips[k]];
      EXPECT_EQ(b.captions[k], c.caption.empty() ? "generated " + std::to_string(c.id) : c.caption);
    }
  }
  EXPECT_EQ(seen.size(), clips.size());
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), clips.size());

  for (int workers : {1, 3}) {
    Loader l(clips, synthetic, small_grid(workers, 11));
    const std::vector<Batch> got = epoch(l, 0);
    ASSERT_EQ(got.size(), ref.size()) << workers;
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_EQ(got[i].clips, ref[i].clips) << workers << " workers, batch " << i;
      EXPECT_EQ(got[i].captions, ref[i].captions);
      EXPECT_EQ(got[i].video.to_vector(), ref[i].video.to_vector());
    }
  }
  // Another epoch or another seed: another order of the same clips.
  EXPECT_NE(l0.plan(1), l0.plan(0));
  Loader other(clips, synthetic, small_grid(2, 12));
  EXPECT_NE(other.plan(0), l0.plan(0));
  EXPECT_EQ(epoch(l0, 0).size(), ref.size());  // restarting an epoch repeats it
  EXPECT_EQ(epoch(l0, 0)[0].clips, ref[0].clips);
}

TEST(Loader, PixelsMapToMinusOneToOne) {
  std::vector<ClipRef> clips = {{"", "c", 1, 16, 16, 0}};
  const DecodeFn decode = [](const ClipRef&, const Bucket&, uint64_t) {
    Video v(1, 16, 16, 8.0);
    v.pixel(0, 0, 0)[0] = 255;
    v.pixel(0, 0, 1)[2] = 51;
    return DecodedClip{v, ""};
  };
  LoaderOptions o;
  o.buckets = {{1, 16, 16}};
  o.workers = 1;
  Loader l(clips, decode, o);
  Batch b;
  ASSERT_TRUE(l.next(b));
  const std::vector<float> x = b.video.to_vector();  // [1, 3, 1, 16, 16]
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], -1.0f);
  EXPECT_NEAR(x[2 * 256 + 1], 51 / 127.5 - 1, 1e-6);  // blue plane, pixel (0, 1)
  EXPECT_FALSE(l.next(b));
}

TEST(Loader, PrefetchIsBoundedAndErrorsArriveInOrder) {
  std::atomic<int> decoded{0};
  const DecodeFn decode = [&](const ClipRef& c, const Bucket& b, uint64_t s) {
    ++decoded;
    if (c.id == 4) throw Error("cannot read clip four");
    return synthetic(c, b, s);
  };
  std::vector<ClipRef> clips;
  for (int i = 0; i < 12; ++i) clips.push_back({"clip" + std::to_string(i), "", 1, 16, 16, i});
  LoaderOptions o;
  o.buckets = {{1, 16, 16}};
  o.batch_size = 2;
  o.workers = 3;
  o.prefetch = 2;
  o.shuffle = false;
  Loader l(clips, decode, o);
  l.start_epoch(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(decoded.load(), 4);  // two batches of two ahead, no more
  Batch b;
  ASSERT_TRUE(l.next(b));
  ASSERT_TRUE(l.next(b));
  testing::expect_error([&] { l.next(b); }, {"clip4", "cannot read clip four"});
  int rest = 0;
  while (l.next(b)) ++rest;
  EXPECT_EQ(rest, 3);
}

TEST_F(LoaderTest, FilesEndToEndThroughAManifest) {
  const Video a = testing::smooth_video(9, 32, 32, 8.0);
  write_video(path("a/"), a);                                           // PNG frames: exact
  write_video(path("b.mp4"), testing::smooth_video(24, 32, 64, 24.0));  // 1 s at 24 fps
  write_video(path("c.png"), testing::smooth_video(1, 64, 32, 8.0));
  const IndexResult idx = index_videos(dir());
  ASSERT_EQ(idx.entries.size(), 3u);  // the image too, as a 1-frame video
  std::vector<ManifestEntry> entries = idx.entries;
  EXPECT_EQ(entries[2].path, path("c.png"));
  EXPECT_EQ(entries[2].frames, 1);
  entries[2].caption = "a still";
  const std::vector<ClipRef> clips = clips_from_manifest(entries, 8.0);
  EXPECT_EQ(clips[1].frames, 8);  // b.mp4: 1 s at 8 fps
  LoaderOptions o;
  o.buckets = {{9, 32, 32}, {5, 32, 64}, {1, 64, 32}};
  o.batch_size = 4;
  o.workers = 2;
  Loader l(clips, file_decoder(8.0), o);
  int n = 0;
  Batch b;
  l.start_epoch(0);
  while (l.next(b)) {
    ++n;
    ASSERT_EQ(b.clips.size(), 1u);
    if (b.clips[0] == 0) {
      EXPECT_EQ(b.bucket, (Bucket{9, 32, 32}));
      const std::vector<float> x = b.video.to_vector();
      EXPECT_EQ(x[0], (a.rgb[0] - 127.5f) / 127.5f);
      EXPECT_EQ(x[x.size() - 1], (a.rgb[a.rgb.size() - 1] - 127.5f) / 127.5f);
    } else if (b.clips[0] == 1) {
      EXPECT_EQ(b.bucket, (Bucket{5, 32, 64}));
    } else {
      EXPECT_EQ(b.bucket, (Bucket{1, 64, 32}));
      EXPECT_EQ(b.captions[0], "a still");
    }
  }
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace cubist
