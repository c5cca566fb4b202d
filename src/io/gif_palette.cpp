// GIF palette: exact colours when they fit in 256, else median cut (see gif_palette.h).
#include "io/gif_palette.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace cubist {

namespace {

uint32_t pack(const uint8_t* p) { return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]; }

// The distinct colours of the video, or an empty vector once there are more than 256.
std::vector<uint32_t> distinct_colours(const Video& v) {
  std::unordered_set<uint32_t> seen;
  const int64_t n = v.frames * v.height * v.width;
  uint32_t last = 0xffffffff;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t c = pack(v.rgb.data() + i * 3);
    if (c == last) continue;  // flat areas repeat the colour: skip the hash
    last = c;
    seen.insert(c);
    if (seen.size() > 256) return {};
  }
  std::vector<uint32_t> out(seen.begin(), seen.end());
  std::sort(out.begin(), out.end());
  return out;
}

struct Bin {
  uint64_t count = 0, r = 0, g = 0, b = 0;
};

// A box of histogram cells (5 bits per channel, cell = r << 10 | g << 5 | b).
struct Box {
  std::vector<int> cells;
  uint64_t count = 0;
  int axis = 0, range = 0;  // the channel with the widest spread, and that spread
};

int channel(int cell, int axis) { return (cell >> (10 - 5 * axis)) & 31; }

void measure(Box& box, const std::vector<Bin>& hist) {
  int lo[3] = {31, 31, 31}, hi[3] = {0, 0, 0};
  box.count = 0;
  for (int c : box.cells) {
    box.count += hist[c].count;
    for (int a = 0; a < 3; ++a)
      lo[a] = std::min(lo[a], channel(c, a)), hi[a] = std::max(hi[a], channel(c, a));
  }
  box.axis = 0, box.range = -1;
  for (int a = 0; a < 3; ++a)
    if (hi[a] - lo[a] > box.range) box.range = hi[a] - lo[a], box.axis = a;
}

// Splits `box` at the pixel-weighted median of its widest channel; the upper half goes to `hi`.
void split(Box& box, Box& upper, const std::vector<Bin>& hist) {
  const int axis = box.axis;
  std::sort(box.cells.begin(), box.cells.end(), [&](int a, int b) {
    return channel(a, axis) != channel(b, axis) ? channel(a, axis) < channel(b, axis) : a < b;
  });
  uint64_t acc = 0;
  size_t cut = 1;
  for (; cut < box.cells.size(); ++cut) {
    acc += hist[box.cells[cut - 1]].count;
    if (2 * acc >= box.count) break;
  }
  cut = std::min(cut, box.cells.size() - 1);
  upper.cells.assign(box.cells.begin() + cut, box.cells.end());
  box.cells.resize(cut);
  measure(box, hist);
  measure(upper, hist);
}

}  // namespace

GifPalette GifPalette::build(const Video& v) {
  GifPalette p;
  p.argb_.fill(0xff000000u);
  std::vector<uint32_t> exact = distinct_colours(v);
  if (!exact.empty()) {
    p.exact_ = true;
    p.size_ = int(exact.size());
    for (int i = 0; i < p.size_; ++i) p.argb_[i] = 0xff000000u | exact[i];
    p.exact_keys_ = std::move(exact);
    return p;
  }
  std::vector<Bin> hist(1 << 15);
  const int64_t n = v.frames * v.height * v.width;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* px = v.rgb.data() + i * 3;
    Bin& b = hist[(px[0] >> 3) << 10 | (px[1] >> 3) << 5 | (px[2] >> 3)];
    ++b.count, b.r += px[0], b.g += px[1], b.b += px[2];
  }
  std::vector<Box> boxes(1);
  for (int c = 0; c < (1 << 15); ++c)
    if (hist[c].count) boxes[0].cells.push_back(c);
  measure(boxes[0], hist);
  while (boxes.size() < 256) {
    // The box that most deserves a split: many pixels over a wide range.
    int best = -1;
    double best_score = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const double score = double(boxes[i].count) * boxes[i].range;
      if (boxes[i].cells.size() > 1 && score > best_score) best_score = score, best = int(i);
    }
    if (best < 0) break;
    Box upper;
    split(boxes[best], upper, hist);
    boxes.push_back(std::move(upper));
  }
  p.size_ = int(boxes.size());
  for (int i = 0; i < p.size_; ++i) {
    uint64_t cnt = 0, r = 0, g = 0, b = 0;
    for (int c : boxes[i].cells)
      cnt += hist[c].count, r += hist[c].r, g += hist[c].g, b += hist[c].b;
    const auto avg = [&](uint64_t s) { return uint32_t((s + cnt / 2) / cnt); };
    p.argb_[i] = 0xff000000u | avg(r) << 16 | avg(g) << 8 | avg(b);
  }
  p.cache_.assign(1 << 18, -1);
  return p;
}

uint8_t GifPalette::nearest(uint32_t rgb) const {
  const int r = rgb >> 16 & 255, g = rgb >> 8 & 255, b = rgb & 255;
  int best = 0, best_d = 1 << 30;
  for (int i = 0; i < size_; ++i) {
    const int dr = int(argb_[i] >> 16 & 255) - r, dg = int(argb_[i] >> 8 & 255) - g,
              db = int(argb_[i] & 255) - b;
    const int d = dr * dr + dg * dg + db * db;
    if (d < best_d) best_d = d, best = i;
  }
  return uint8_t(best);
}

void GifPalette::map_frame(const uint8_t* rgb, int64_t h, int64_t w, uint8_t* dst, int stride) {
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const uint8_t* px = rgb + (y * w + x) * 3;
      uint8_t& out = dst[y * stride + x];
      if (exact_) {
        const uint32_t c = pack(px);
        out = uint8_t(std::lower_bound(exact_keys_.begin(), exact_keys_.end(), c) -
                      exact_keys_.begin());
        continue;
      }
      // Nearest colour to the centre of the pixel's 6-bit cell, computed once per cell.
      const int cell = (px[0] >> 2) << 12 | (px[1] >> 2) << 6 | (px[2] >> 2);
      if (cache_[cell] < 0) {
        const uint32_t centre = uint32_t((px[0] & 0xfc) | 2) << 16 |
                                uint32_t((px[1] & 0xfc) | 2) << 8 | ((px[2] & 0xfc) | 2);
        cache_[cell] = nearest(centre);
      }
      out = uint8_t(cache_[cell]);
    }
  }
}

}  // namespace cubist
