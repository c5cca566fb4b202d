// Video files in and out, through FFmpeg's libraries (libavformat, libavcodec, libswscale).
// A Video is a stack of 8-bit sRGB frames. Paths choose the format:
//   out.mp4 (H.264), out.webm (VP9), out.gif (animated GIF), out/ or a path without extension
//   (a folder of PNG frames 000000.png, 000001.png, ... : lossless, what tests compare).
// Reading takes any container and codec FFmpeg can decode, and the same four forms, plus a single
// image file (PNG, JPEG, ...) as a one-frame video.
//
// The implementation is split by job: video_read.cpp, video_write.cpp, video_probe.cpp, with the
// FFmpeg plumbing they share in ffmpeg_util.{h,cpp}. Every problem (a missing file, a codec FFmpeg
// cannot decode, a zero-length, corrupt or truncated file, a bad argument) is a cubist::Error whose
// message starts with the path and says what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cubist {

struct Video {
  int64_t frames = 0, height = 0, width = 0;
  double fps = 8.0;
  std::vector<uint8_t> rgb;  // [frames, height, width, 3], row-major

  Video() = default;
  Video(int64_t t, int64_t h, int64_t w, double frames_per_second = 8.0)
      : frames(t),
        height(h),
        width(w),
        fps(frames_per_second),
        rgb(static_cast<size_t>(t * h * w * 3), 0) {}
  uint8_t* frame(int64_t t) { return rgb.data() + t * height * width * 3; }
  const uint8_t* frame(int64_t t) const { return rgb.data() + t * height * width * 3; }
  uint8_t* pixel(int64_t t, int64_t y, int64_t x) { return frame(t) + (y * width + x) * 3; }
  const uint8_t* pixel(int64_t t, int64_t y, int64_t x) const {
    return frame(t) + (y * width + x) * 3;
  }
};

struct VideoReadOptions {
  // Target frame rate; 0 keeps the native rate. Resampling picks, for each target time k / fps,
  // the source frame on screen at that time (the last one whose timestamp is <= k / fps), so
  // lowering the rate drops frames and raising it repeats them; nothing is blended. The output
  // covers the source's duration: a 24-frame clip at 24 fps read at 8 fps gives 8 frames.
  double fps = 0.0;
  // Target size, rescaled with swscale (bicubic); 0 keeps the native size. When only one of the
  // two is given the other follows the aspect ratio (rounded, at least 1).
  int64_t width = 0, height = 0;
  int64_t max_frames = 0;  // stop after this many output frames; 0 = all
  // Output frames dropped before the first one kept (max_frames counts from there): not
  // converted nor held. In a constant-rate file a start at source frame 32 or later (at the
  // native rate, frame 32; resampled, the source frame on screen at the start's time) is
  // sought: decoding begins at the key frame before it; otherwise the frames before it are
  // decoded, as the ones after depend on them.
  int64_t start_frame = 0;
  int threads = 0;  // decoder threads; 0 lets FFmpeg choose (the data loader uses 1)
};

struct VideoWriteOptions {
  // Constant-quality factor; -1 takes the codec's high-quality default: 17 for H.264 (scale
  // 0..51) and 24 for VP9 (scale 0..63). Lower is better and larger.
  int crf = -1;
  std::string preset = "medium";  // libx264 speed preset (ultrafast ... veryslow)
  // Stored in the container: MP4 (as metadata tags), WebM (Matroska tags), GIF (one comment
  // extension: gif_comment.h), a single .png (tEXt chunks: png_text.h), and for a PNG-frame
  // folder in its video.json. Use lower-case keys: probe_video returns keys in lower case
  // (Matroska capitalises them).
  std::map<std::string, std::string> metadata;
};

struct VideoInfo {
  int64_t frames = 0;  // from the container's header when it says, else counted (see exact)
  double fps = 0.0;
  int64_t width = 0, height = 0;
  double duration = 0.0;  // seconds: frames / fps
  std::string codec;      // FFmpeg's short codec name: "h264", "vp9", "gif", "png", ...
  std::string format;     // container: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "png_frames"
  bool frames_counted = false;  // true when the frame count came from counting packets
  bool alpha = false;  // its first frame has pixels not opaque, which reading to RGB leaves out
  std::map<std::string, std::string> metadata;
};

// Decodes a video file, a folder of PNG frames (sorted by name, numeric names by value) or one
// image file to RGB24. A folder of frames and an image have no frame rate of their own: a folder
// takes it from its video.json when present (what write_video leaves there), anything else gets
// the project's default of 8 fps.
Video read_video(const std::string& path, const VideoReadOptions& opt = {});

// A video read a chunk of frames at a time, so that a long video need not be held whole: the same
// sources, options, frames and errors as read_video, which reads it in one chunk. Each read(n)
// gives the next n frames (fewer at the end, none after it), each chunk's Video with the
// output's size and frame rate.
class VideoReader {
 public:
  explicit VideoReader(const std::string& path, const VideoReadOptions& opt = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  Video read(int64_t n);
  // The source frames decoded so far: with a start_frame far in, those from the key frame
  // before it on, as the reader seeks there.
  int64_t frames_decoded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The largest width or height a video is written at.
inline constexpr int64_t kMaxVideoSide = 16384;

// Encodes by the path's form: .mp4 H.264 (libx264, yuv420p, BT.601 limited range; needs even
// width and height, others are refused with an Error), .webm VP9 (libvpx-vp9, yuv420p, any size),
// .gif (one palette for the whole clip: exact when the clip has at most 256 colours, else median
// cut to 256, no dithering), a single .png (one-frame videos only), and a path ending in '/' or
// without extension: a folder of PNG frames 000000.png, ... plus video.json (fps, metadata).
// Quality on smooth synthetic 64x48 content (tests/test_video.cpp): H.264 at crf 17 about 44 dB
// PSNR, VP9 at crf 24 about 42 dB (the tests ask >= 35), GIF about 32 dB (asked >= 28) and exact
// for clips of <= 256 colours such as Shapes World; PNG is lossless.
// The output is written under a temporary name beside the target and renamed over it only when
// complete, so a failure never leaves a half file nor destroys what was there.
void write_video(const std::string& path, const Video& v, const VideoWriteOptions& opt = {});

// A video written a chunk of frames at a time, so that a long video need not be held whole: the
// same forms, rules and quality as write_video, which is one write() and close(). H.264, VP9 and
// PNG frames are encoded as they come; a GIF (one palette for the whole clip) and a single .png
// hold their frames until close(). Bad arguments (the path's form, an odd size for H.264,
// metadata where it cannot go, a file where a folder would go) are refused on construction,
// before any frame is made. Everything goes to a temporary name beside the target, moved over it
// by close(); a writer destroyed unclosed (an error, an interrupt) removes it and leaves what was
// at the path untouched.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, int64_t height, int64_t width, double fps,
              const VideoWriteOptions& opt = {});
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const Video& frames);  // appends v.frames frames of the writer's size
  void close();                     // finishes the file and moves it into place
  int64_t frames() const;           // written so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An Error, before the work that makes a video, unless write_video can write `path`: a form it
// writes, in a folder that exists, not in the place of a folder (for a file) or of a file (for
// a folder of frames).
void check_video_output(const std::string& path);

// Reads the container's header (and the first frame, to check that it decodes) without decoding
// the rest; counts packets when the header gives no frame count. A file whose index points past
// its end (a truncated MP4) is an Error.
VideoInfo probe_video(const std::string& path);

// Rescales every frame to height x width (bicubic, swscale); the frame rate is kept.
Video resize_video(const Video& v, int64_t height, int64_t width);

// How index_videos and the loader tell clips apart by path. A PNG-frame folder is a folder whose
// .png files (at least one) all have numeric names, as write_video leaves them (000000.png, ...);
// read_video itself reads every .png of any folder it is given. An image path is one ending in
// .png .jpg .jpeg .bmp .webp .tif or .tiff (any case).
bool is_png_frame_folder(const std::string& path);
bool is_image_path(const std::string& path);

}  // namespace cubist
