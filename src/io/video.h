// Video files in and out, through FFmpeg's libraries (libavformat, libavcodec, libswscale).
// A Video is a stack of 8-bit sRGB frames. Paths choose the format:
//   out.mp4 (H.264), out.webm (VP9), out.gif (animated GIF), out/ or a path without extension
//   (a folder of PNG frames 000000.png, 000001.png, ... : lossless, what tests compare).
// Reading takes any container and codec FFmpeg can decode, and the same four forms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cubist {

struct Video {
  int64_t frames = 0, height = 0, width = 0;
  double fps = 8.0;
  std::vector<uint8_t> rgb;  // [frames, height, width, 3], row-major

  Video() = default;
  Video(int64_t t, int64_t h, int64_t w, double frames_per_second = 8.0)
      : frames(t), height(h), width(w), fps(frames_per_second),
        rgb(static_cast<size_t>(t * h * w * 3), 0) {}
  uint8_t* frame(int64_t t) { return rgb.data() + t * height * width * 3; }
  const uint8_t* frame(int64_t t) const { return rgb.data() + t * height * width * 3; }
  uint8_t* pixel(int64_t t, int64_t y, int64_t x) { return frame(t) + (y * width + x) * 3; }
  const uint8_t* pixel(int64_t t, int64_t y, int64_t x) const {
    return frame(t) + (y * width + x) * 3;
  }
};

}  // namespace cubist
