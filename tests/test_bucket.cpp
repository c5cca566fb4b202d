// Buckets: the grid's sizes, and the assignment rule (closest log aspect among buckets no longer
// than the clip, then the longest, then no upscaling).
#include "data/bucket.h"
#include "testing.h"

namespace cubist {
namespace {

TEST(Bucket, GridSidesAreMultiplesNearTheArea) {
  const std::vector<Bucket> g = make_buckets({.area = 64 * 64, .multiple = 16});
  // At 64x64 and multiples of 16 the nine aspects round to five sizes: 96x48, 80x48 (9:16, 2:3
  // and 3:4), 64x64, 48x80 and 48x96; times nine lengths.
  ASSERT_EQ(g.size(), 5u * 9u);
  for (const Bucket& b : g) {
    EXPECT_EQ(b.height % 16, 0) << b.str();
    EXPECT_EQ(b.width % 16, 0) << b.str();
    EXPECT_NEAR(double(b.height * b.width) / (64 * 64), 1.0, 0.3) << b.str();
    EXPECT_EQ((b.frames - 1) % 4, 0) << b.str();
  }
  EXPECT_EQ(g[0], (Bucket{1, 96, 48}));  // 1:2: sqrt(4096 * 2) = 90.5 -> 96, 45.3 -> 48
  EXPECT_EQ(g[2], (Bucket{1, 64, 64}));
  EXPECT_EQ(g[4], (Bucket{1, 48, 96}));
  EXPECT_EQ(g.back().frames, 33);
  // Aspects that round to one size appear once.
  EXPECT_EQ(
      make_buckets({.area = 16 * 16, .multiple = 16, .aspects = {1.0, 1.1}, .frames = {1}}).size(),
      1u);
  EXPECT_THROW(make_buckets({.area = 0}), Error);
  EXPECT_THROW(make_buckets({.aspects = {-1.0}}), Error);
}

TEST(Bucket, ClosestAspectThenLongestThenNoUpscaling) {
  const std::vector<Bucket> b = {
      {1, 64, 64},   {5, 64, 64},   {17, 64, 64},  // square
      {1, 64, 112},  {17, 64, 112},                // wide
      {17, 112, 64},                               // tall
      {17, 32, 32},                                // a smaller square
  };
  // A long wide clip: the wide bucket, longest that fits.
  EXPECT_EQ(assign_bucket(b, 40, 360, 640), 4);
  // A 9-frame square clip: the 5-frame square bucket (17 is longer than the clip).
  EXPECT_EQ(assign_bucket(b, 9, 100, 100), 1);
  // A still image of a tall shape: tall has T = 17 only, so the closest aspect among T <= 1.
  EXPECT_EQ(assign_bucket(b, 1, 200, 100), 0);
  // 2:1 and 1:2 are equally far from 1:1 in log space: a square clip takes the square bucket.
  EXPECT_EQ(assign_bucket(b, 17, 50, 50), 6);    // 64x64 would upscale a 50x50 clip; 32x32 not
  EXPECT_EQ(assign_bucket(b, 17, 500, 500), 2);  // both fit: the larger
  EXPECT_EQ(assign_bucket(b, 17, 20, 20), 6);    // neither fits: the smaller
  // Shorter than every bucket of a video-only grid: fits none.
  EXPECT_EQ(assign_bucket({{17, 64, 64}}, 9, 64, 64), -1);
  EXPECT_THROW(assign_bucket(b, 0, 64, 64), Error);
}

TEST(Bucket, MixedImagesAndVideosOfShapesWorldSizes) {
  std::vector<Bucket> b;
  for (int64_t t : {1, 9, 17, 33})
    for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{
             {64, 64}, {64, 96}, {96, 64}, {64, 112}, {112, 64}})
      b.push_back({t, h, w});
  const Bucket img = b[assign_bucket(b, 1, 64, 96)];
  EXPECT_EQ(img, (Bucket{1, 64, 96}));
  const Bucket vid = b[assign_bucket(b, 20, 112, 64)];
  EXPECT_EQ(vid, (Bucket{17, 112, 64}));
  const Bucket hd = b[assign_bucket(b, 120, 720, 1280)];  // 16:9 sits nearest 112:64 (1.75)
  EXPECT_EQ(hd, (Bucket{33, 64, 112}));
}

}  // namespace
}  // namespace cubist
