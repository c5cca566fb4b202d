// read_video: decodes a video file, a folder of PNG frames or one image to RGB24, resampling the
// frame rate by picking frames and rescaling with swscale (see video.h for the rules).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/ffmpeg_util.h"
#include "io/frame_folder.h"
#include "io/video.h"

namespace cubist {

namespace fs = std::filesystem;
using ffmpeg::describe;

namespace {

constexpr double kDefaultFps = 8.0;  // the project's rate, for sources that have none
// Timestamps are rounded to their time base (1/12800 s in MP4, 1 ms in WebM): a target time
// within this of a frame's start counts as showing that frame.
constexpr double kTimeTolerance = 1e-4;

// Collects the output frames: picks source frames for the target rate, converts each picked
// frame once to RGB24 at the output size, and stops at max_frames.
class Collector {
 public:
  explicit Collector(const VideoReadOptions& opt) : opt_(opt) {
    CUBIST_CHECK(opt.fps >= 0 && std::isfinite(opt.fps),
                 "read_video: fps must be >= 0 (0 = native), got ", opt.fps);
    CUBIST_CHECK(opt.max_frames >= 0, "read_video: max_frames must be >= 0 (0 = all), got ",
                 opt.max_frames);
  }

  bool full() const { return opt_.max_frames > 0 && v_.frames >= opt_.max_frames; }
  int64_t frames() const { return v_.frames; }

  // A source frame shown from time t (seconds since the first frame).
  void offer(const AVFrame* f, double t) {
    if (opt_.fps <= 0) {
      emit(f, 1);
      return;
    }
    if (have_prev_) emit(prev_.get(), targets_before(t));
    av_frame_unref(prev_.get());
    CUBIST_CHECK(av_frame_ref(prev_.get(), f) == 0, "read_video: out of memory");
    have_prev_ = true;
  }

  // The last source frame stops showing at t_end.
  void finish(double t_end) {
    if (opt_.fps <= 0 || !have_prev_) return;
    int64_t n = targets_before(t_end);
    if (v_.frames == 0) n = std::max<int64_t>(n, 1);  // a clip shorter than one target frame
    emit(prev_.get(), n);
  }

  Video take(double native_fps) {
    v_.fps = opt_.fps > 0 ? opt_.fps : (native_fps > 0 ? native_fps : kDefaultFps);
    return std::move(v_);
  }

 private:
  // How many target times k / fps, from the next one on, fall before t.
  int64_t targets_before(double t) {
    int64_t n = 0;
    while (double(next_k_) / opt_.fps + kTimeTolerance < t) ++next_k_, ++n;
    return n;
  }

  void emit(const AVFrame* f, int64_t copies) {
    if (opt_.max_frames > 0) copies = std::min(copies, opt_.max_frames - v_.frames);
    if (copies <= 0) return;
    if (v_.frames == 0) {
      ffmpeg::target_size(f->height, f->width, opt_.height, opt_.width, &v_.height, &v_.width);
    }
    const size_t bytes = static_cast<size_t>(v_.height * v_.width * 3);
    const size_t at = v_.rgb.size();
    v_.rgb.resize(at + bytes * copies);
    conv_.convert(f, int(v_.height), int(v_.width), v_.rgb.data() + at);
    for (int64_t c = 1; c < copies; ++c)
      std::memcpy(v_.rgb.data() + at + bytes * c, v_.rgb.data() + at, bytes);
    v_.frames += copies;
  }

  VideoReadOptions opt_;
  Video v_;
  ffmpeg::RgbConverter conv_;
  ffmpeg::Frame prev_ = ffmpeg::make_frame();
  bool have_prev_ = false;
  int64_t next_k_ = 0;
};

Video read_frame_folder(const std::string& dir, const VideoReadOptions& opt) {
  const std::vector<std::string> files = frame_folder::list_png(dir);
  if (files.empty()) fail(dir, ": a folder without .png frames, not a video");
  const frame_folder::Meta meta = frame_folder::read_meta(dir);
  const double native = meta.fps > 0 ? meta.fps : kDefaultFps;
  ffmpeg::ImageDecoder dec(AV_CODEC_ID_PNG);
  Collector c(opt);
  for (size_t i = 0; i < files.size() && !c.full(); ++i) c.offer(dec.decode(files[i]), i / native);
  if (!c.full()) c.finish(files.size() / native);
  return c.take(native);
}

Video read_file(const std::string& path, const VideoReadOptions& opt) {
  ffmpeg::Input in = ffmpeg::open_input(path, opt.threads);
  const double native = ffmpeg::stream_fps(in.st());
  const double step = native > 0 ? 1.0 / native : 1.0 / kDefaultFps;
  const double tb = av_q2d(in.st()->time_base);
  Collector c(opt);
  ffmpeg::Packet pkt = ffmpeg::make_packet();
  ffmpeg::Frame frame = ffmpeg::make_frame();
  int64_t decoded = 0, first_ts = AV_NOPTS_VALUE;
  double t = 0, t_end = 0;

  // Receives every frame the decoder has ready; false once the collector is full.
  const auto drain = [&]() {
    for (;;) {
      const int r = avcodec_receive_frame(in.dec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return true;
      if (r < 0) fail(path, ": corrupt video data after ", decoded, " frames: ", describe(r));
      const int64_t ts = frame->best_effort_timestamp;
      if (ts != AV_NOPTS_VALUE && first_ts == AV_NOPTS_VALUE) first_ts = ts;
      const double ts_s = ts != AV_NOPTS_VALUE ? (ts - first_ts) * tb : t + step;
      t = decoded == 0 ? 0.0 : std::max(t, ts_s);  // never backwards
      const double dur = frame->pkt_duration > 0 ? frame->pkt_duration * tb : step;
      t_end = t + dur;
      ++decoded;
      c.offer(frame.get(), t);
      av_frame_unref(frame.get());
      if (c.full()) return false;
    }
  };

  bool more = true;
  while (more) {
    const int r = av_read_frame(in.fmt.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    if (r < 0) fail(path, ": truncated or corrupt after ", decoded, " frames: ", describe(r));
    if (pkt->stream_index != in.stream) {
      av_packet_unref(pkt.get());
      continue;
    }
    const int s = avcodec_send_packet(in.dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (s < 0 && s != AVERROR(EAGAIN))
      fail(path, ": corrupt video data after ", decoded, " frames: ", describe(s));
    more = drain();
  }
  if (more) {  // the whole stream was read: flush the decoder and check the count
    avcodec_send_packet(in.dec.get(), nullptr);
    drain();
    if (decoded == 0) fail(path, ": no frame could be decoded (empty or corrupt video)");
    const int64_t expected = ffmpeg::expected_frames(in);
    if (ffmpeg::falls_short(decoded, expected))
      fail(path, ": truncated: the container promises about ", expected, " frames but only ",
           decoded, " decode");
    c.finish(t_end);
  }
  // An image file has no frame rate of its own (FFmpeg says 25): it is a still of one frame.
  const bool still = is_image_path(path) && decoded == 1;
  return c.take(still ? kDefaultFps : native);
}

}  // namespace

bool is_image_path(const std::string& path) {
  static const char* const kExt[] = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"};
  const std::string e = ffmpeg::extension(path);
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

bool is_png_frame_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  const std::vector<std::string> files = frame_folder::list_png(path);
  if (files.empty()) return false;
  return std::all_of(files.begin(), files.end(), [](const std::string& f) {
    const std::string stem = fs::path(f).stem().string();
    return std::all_of(stem.begin(), stem.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  });
}

Video read_video(const std::string& path, const VideoReadOptions& opt) {
  ffmpeg::init();
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_frame_folder(path, opt);
  return read_file(path, opt);
}

}  // namespace cubist
