// resize_video: every frame rescaled with swscale (bicubic), in place of a decoder's scaling for
// videos that are already in memory (a generator's output, say).
#include "core/error.h"
#include "io/ffmpeg_util.h"
#include "io/video.h"

namespace cubist {

Video resize_video(const Video& v, int64_t height, int64_t width) {
  CUBIST_CHECK(height >= 1 && width >= 1, "resize_video: the size must be >= 1, got ", width, "x",
               height);
  CUBIST_CHECK(v.rgb.size() == static_cast<size_t>(v.frames * v.height * v.width * 3),
               "resize_video: Video.rgb holds ", v.rgb.size(), " bytes, not frames*height*width*3");
  if (height == v.height && width == v.width) return v;
  ffmpeg::init();
  Video out(v.frames, height, width, v.fps);
  ffmpeg::Sws sws(sws_getContext(int(v.width), int(v.height), AV_PIX_FMT_RGB24, int(width),
                                 int(height), AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND,
                                 nullptr, nullptr, nullptr));
  CUBIST_CHECK(sws, "resize_video: swscale cannot resize ", v.width, "x", v.height, " to ", width,
               "x", height);
  for (int64_t t = 0; t < v.frames; ++t) {
    const uint8_t* src[4] = {v.frame(t), nullptr, nullptr, nullptr};
    const int src_stride[4] = {int(v.width * 3), 0, 0, 0};
    uint8_t* dst[4] = {out.frame(t), nullptr, nullptr, nullptr};
    const int dst_stride[4] = {int(width * 3), 0, 0, 0};
    sws_scale(sws.get(), src, src_stride, 0, int(v.height), dst, dst_stride);
  }
  return out;
}

}  // namespace cubist
