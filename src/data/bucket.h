// Native sizes: clips train at a (frames, height, width) bucket near their own aspect ratio and
// length, as Sora does, instead of being cropped to one square size. Images are clips of T = 1,
// so images and videos share one dataset.
//
// The rule (assign_bucket), for a clip of T frames and size H x W:
//   1. only buckets no longer than the clip are candidates (T_b <= T; frames are never invented);
//   2. among them, those whose aspect ratio is closest in log space: |log(W_b/H_b) - log(W/H)|
//      smallest (so 2:1 and 1:2 are equally far from 1:1);
//   3. among those, the longest (largest T_b: as much of the clip as fits);
//   4. among those, the largest area not above the clip's (no upscaling), else the smallest area;
//   5. remaining ties: the first in the list.
// A clip shorter than every bucket fits none (-1): give the grid T = 1 buckets to keep images.
// The loader then resizes the clip, keeping its aspect ratio, to cover the bucket and crops the
// centre, and takes the clip's first T_b frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cubist {

struct Bucket {
  int64_t frames = 1, height = 16, width = 16;
  bool operator==(const Bucket& o) const {
    return frames == o.frames && height == o.height && width == o.width;
  }
  std::string str() const;  // "17x64x96" (frames x height x width)
};

struct BucketGridOptions {
  int64_t area = 64 * 64;  // target height * width
  int64_t multiple = 16;   // every side a multiple of this (the VAE's and patches' stride)
  // Aspect ratios width / height; each gives the size of that ratio whose area is nearest `area`
  // with sides rounded to `multiple` (and at least `multiple`). Duplicates are dropped.
  std::vector<double> aspects = {1.0 / 2, 9.0 / 16, 2.0 / 3,  3.0 / 4, 1.0,
                                 4.0 / 3, 3.0 / 2,  16.0 / 9, 2.0};
  // Lengths: 1 + 4k suits the causal VAE (time / 4); 1 holds images.
  std::vector<int64_t> frames = {1, 5, 9, 13, 17, 21, 25, 29, 33};
};

// Every (frames, size) pair of the grid, sizes in the order of `aspects`, frames outermost.
std::vector<Bucket> make_buckets(const BucketGridOptions& opt = {});

// The index in `buckets` of the bucket for a clip by the rule above, or -1 when none fits.
int64_t assign_bucket(const std::vector<Bucket>& buckets, int64_t frames, int64_t height,
                      int64_t width);

}  // namespace cubist
