// One 256-colour palette for a whole GIF: exact when the clip has at most 256 distinct colours
// (flat-colour content such as Shapes World round-trips losslessly), otherwise median cut over a
// 5-bit-per-channel histogram. Pixels map to their nearest palette colour, without dithering
// (dithering would add noise to flat areas and differ frame to frame). Internal to src/io.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "io/video.h"

namespace cubist {

class GifPalette {
 public:
  static GifPalette build(const Video& v);

  // Palette indices of one RGB24 frame into `dst` (rows `stride` bytes apart).
  void map_frame(const uint8_t* rgb, int64_t h, int64_t w, uint8_t* dst, int stride);
  // The 256 entries as FFmpeg wants them for PAL8 frames: 0xAARRGGBB, native endian.
  const std::array<uint32_t, 256>& argb() const { return argb_; }
  int size() const { return size_; }
  bool exact() const { return exact_; }

 private:
  uint8_t nearest(uint32_t rgb) const;
  std::array<uint32_t, 256> argb_{};
  int size_ = 0;
  bool exact_ = false;
  std::vector<uint32_t> exact_keys_;  // sorted colours, when exact
  std::vector<int16_t> cache_;        // 6-bit-per-channel cell -> index, -1 = not yet known
};

}  // namespace cubist
