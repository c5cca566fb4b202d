// Buckets of (frames, height, width) near each clip's native aspect ratio and length (bucket.h).
#include "data/bucket.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace cubist {

std::string Bucket::str() const {
  return std::to_string(frames) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

std::vector<Bucket> make_buckets(const BucketGridOptions& opt) {
  CUBIST_CHECK(opt.area >= 1 && opt.multiple >= 1,
               "make_buckets: area and multiple must be >= 1, "
               "got ",
               opt.area, " and ", opt.multiple);
  CUBIST_CHECK(!opt.aspects.empty() && !opt.frames.empty(),
               "make_buckets: needs at least one aspect ratio and one frame count");
  const auto side = [&](double s) {
    return std::max<int64_t>(opt.multiple, std::llround(s / double(opt.multiple)) * opt.multiple);
  };
  std::vector<std::pair<int64_t, int64_t>> sizes;  // (height, width)
  for (double a : opt.aspects) {
    CUBIST_CHECK(a > 0 && std::isfinite(a), "make_buckets: aspect ratios must be > 0, got ", a);
    const std::pair<int64_t, int64_t> hw{side(std::sqrt(opt.area / a)),
                                         side(std::sqrt(opt.area * a))};
    if (std::find(sizes.begin(), sizes.end(), hw) == sizes.end()) sizes.push_back(hw);
  }
  std::vector<Bucket> out;
  for (int64_t t : opt.frames) {
    CUBIST_CHECK(t >= 1, "make_buckets: frame counts must be >= 1, got ", t);
    for (const auto& [h, w] : sizes) out.push_back({t, h, w});
  }
  return out;
}

int64_t assign_bucket(const std::vector<Bucket>& buckets, int64_t frames, int64_t height,
                      int64_t width) {
  CUBIST_CHECK(frames >= 1 && height >= 1 && width >= 1,
               "assign_bucket: a clip needs frames, "
               "height and width >= 1, got ",
               frames, "x", height, "x", width);
  const double aspect = std::log(double(width) / double(height));
  const int64_t area = height * width;
  constexpr double kSame = 1e-9;  // log-aspect differences below this are ties
  int64_t best = -1;
  double best_d = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const Bucket& b = buckets[i];
    if (b.frames > frames) continue;
    const double d = std::abs(std::log(double(b.width) / double(b.height)) - aspect);
    bool better = best < 0 || d < best_d - kSame;
    if (!better && std::abs(d - best_d) <= kSame) {
      const Bucket& c = buckets[best];
      if (b.frames != c.frames) {
        better = b.frames > c.frames;
      } else {
        const int64_t ab = b.height * b.width, ac = c.height * c.width;
        const bool fits_b = ab <= area, fits_c = ac <= area;
        if (fits_b != fits_c)
          better = fits_b;
        else
          better = fits_b ? ab > ac : ab < ac;
      }
    }
    if (better) best = int64_t(i), best_d = d;
  }
  return best;
}

}  // namespace cubist
