// VideoReader and read_video: decode a video file, a folder of PNG frames or one image to RGB24,
// a chunk of frames at a time, resampling the frame rate by picking frames and rescaling with
// swscale (see video.h for the rules).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

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
    CUBIST_CHECK(opt.start_frame >= 0, "read_video: start_frame must be >= 0, got ",
                 opt.start_frame);
  }

  bool full() const { return opt_.max_frames > 0 && taken_ + v_.frames >= opt_.max_frames; }
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
    if (taken_ + v_.frames == 0) n = std::max<int64_t>(n, 1);  // shorter than one target frame
    emit(prev_.get(), n);
  }

  // The first n frames collected (all of them when fewer), at the output rate for a source of
  // native_fps; the rest stay for the next call.
  Video take(int64_t n, double native_fps) {
    Video out(0, v_.height, v_.width,
              opt_.fps > 0 ? opt_.fps : (native_fps > 0 ? native_fps : kDefaultFps));
    n = std::min(n, v_.frames);
    taken_ += n;
    if (n == v_.frames) {  // everything collected: moved, not copied
      out.rgb = std::move(v_.rgb);
      out.frames = n;
      v_.rgb.clear();
      v_.frames = 0;
      return out;
    }
    const auto split = v_.rgb.begin() + static_cast<std::ptrdiff_t>(n * v_.height * v_.width * 3);
    out.rgb.assign(v_.rgb.begin(), split);
    out.frames = n;
    v_.rgb.erase(v_.rgb.begin(), split);
    v_.frames -= n;
    return out;
  }

  int64_t taken() const { return taken_; }

  // After a seek: the next frame offered is source frame k, shown from time t, at or before
  // the start. The output frames before it (at the native rate, k of them; resampled, the
  // target times before t) count as dropped.
  void resume_at(int64_t k, double t) { dropped_ = opt_.fps > 0 ? targets_before(t) : k; }

 private:
  // How many target times k / fps, from the next one on, fall before t.
  int64_t targets_before(double t) {
    int64_t n = 0;
    while (double(next_k_) / opt_.fps + kTimeTolerance < t) ++next_k_, ++n;
    return n;
  }

  void emit(const AVFrame* f, int64_t copies) {
    const int64_t skipped = std::min(copies, opt_.start_frame - dropped_);
    dropped_ += skipped, copies -= skipped;
    if (opt_.max_frames > 0) copies = std::min(copies, opt_.max_frames - taken_ - v_.frames);
    if (copies <= 0) return;
    if (v_.height == 0) {
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
  int64_t taken_ = 0;    // frames handed out by take()
  int64_t dropped_ = 0;  // of the start_frame frames dropped first
};

// Where the frames come from: pump() hands the collector at least one more source frame, or
// reaches the end (then returns false, once the collector has the last frame's duration).
class Source {
 public:
  virtual ~Source() = default;
  virtual bool pump(Collector& c) = 0;
  virtual double native_fps() const = 0;  // the rate handed to Collector::take
  virtual int64_t work() const = 0;       // frames decoded so far (VideoReader::frames_decoded)
};

class FolderSource : public Source {
 public:
  explicit FolderSource(const std::string& dir) : files_(frame_folder::list_png(dir)) {
    if (files_.empty()) fail(dir, ": a folder without .png frames, not a video");
    const frame_folder::Meta meta = frame_folder::read_meta(dir);
    native_ = meta.fps > 0 ? meta.fps : kDefaultFps;
  }
  bool pump(Collector& c) override {
    if (next_ == files_.size() || c.full()) {
      if (!c.full()) c.finish(files_.size() / native_);
      return false;
    }
    c.offer(dec_.decode(files_[next_]), next_ / native_);
    ++next_;
    return true;
  }
  double native_fps() const override { return native_; }
  int64_t work() const override { return static_cast<int64_t>(next_); }

 private:
  std::vector<std::string> files_;
  double native_ = kDefaultFps;
  ffmpeg::ImageDecoder dec_{AV_CODEC_ID_PNG};
  size_t next_ = 0;
};

class FileSource : public Source {
 public:
  FileSource(const std::string& path, const VideoReadOptions& opt)
      : path_(path), in_(ffmpeg::open_input(path, opt.threads)) {
    native_ = ffmpeg::stream_fps(in_.st());
    step_ = native_ > 0 ? 1.0 / native_ : 1.0 / kDefaultFps;
    tb_ = av_q2d(in_.st()->time_base);
    // A start far into a constant-rate video is sought: decoding starts at the key frame
    // before it rather than at the first frame. Resampled, the start is the source frame on
    // screen at its time.
    const AVStream* st = in_.st();
    const bool constant_rate =
        st->avg_frame_rate.num > 0 && av_cmp_q(st->avg_frame_rate, st->r_frame_rate) == 0;
    const int64_t start =
        opt.fps > 0
            ? static_cast<int64_t>(std::floor(
                  static_cast<double>(opt.start_frame) / opt.fps * native_ + kTimeTolerance))
            : opt.start_frame;
    if (start >= kSeekFrom && native_ > 0 && constant_rate && st->start_time != AV_NOPTS_VALUE &&
        !is_image_path(path))
      seek_to_ = start;
  }

  bool pump(Collector& c) override {
    if (ended_) return false;
    if (seek_to_ > 0 && !sought_) seek();
    for (;;) {  // until a packet of the video stream has been sent and drained
      const int r = av_read_frame(in_.fmt.get(), pkt_.get());
      if (r == AVERROR_EOF) break;
      if (r < 0) fail(path_, ": truncated or corrupt after ", decoded_, " frames: ", describe(r));
      if (pkt_->stream_index != in_.stream) {
        av_packet_unref(pkt_.get());
        continue;
      }
      const int s = avcodec_send_packet(in_.dec.get(), pkt_.get());
      av_packet_unref(pkt_.get());
      if (s < 0 && s != AVERROR(EAGAIN))
        fail(path_, ": corrupt video data after ", decoded_, " frames: ", describe(s));
      if (drain(c)) return true;
      ended_ = true;  // the collector is full: nothing more is wanted
      return false;
    }
    // The whole stream was read: flush the decoder and check the count.
    ended_ = true;
    avcodec_send_packet(in_.dec.get(), nullptr);
    drain(c);
    if (decoded_ == 0) fail(path_, ": no frame could be decoded (empty or corrupt video)");
    const int64_t expected = ffmpeg::expected_frames(in_);
    if (ffmpeg::falls_short(decoded_, expected))
      fail(path_, ": truncated: the container promises about ", expected, " frames but only ",
           decoded_, " decode");
    c.finish(t_end_);
    return false;
  }

  int64_t work() const override { return work_; }

  // An image file has no frame rate of its own (FFmpeg says 25): it is a still of one frame.
  double native_fps() const override {
    return ended_ && is_image_path(path_) && decoded_ == 1 ? kDefaultFps : native_;
  }

 private:
  // Receives every frame the decoder has ready; false once the collector is full.
  bool drain(Collector& c) {
    for (;;) {
      const int r = avcodec_receive_frame(in_.dec.get(), frame_.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return true;
      if (r < 0) fail(path_, ": corrupt video data after ", decoded_, " frames: ", describe(r));
      const int64_t ts = frame_->best_effort_timestamp;
      if (sought_ && decoded_ == 0 && !landed(c, ts)) continue;  // restarted from the top
      if (ts != AV_NOPTS_VALUE && first_ts_ == AV_NOPTS_VALUE) first_ts_ = ts;
      const double ts_s = ts != AV_NOPTS_VALUE ? (ts - first_ts_) * tb_ : t_ + step_;
      t_ = decoded_ == 0 ? 0.0 : std::max(t_, ts_s);  // never backwards
      const double dur = frame_->pkt_duration > 0 ? frame_->pkt_duration * tb_ : step_;
      t_end_ = t_ + dur;
      ++decoded_, ++work_;
      c.offer(frame_.get(), t_);
      av_frame_unref(frame_.get());
      if (c.full()) return false;
    }
  }

  // Seeks to the key frame at or before frame seek_to_ (frame k shows at start_time + k / fps);
  // where the container cannot, decoding starts from the top as without a seek.
  void seek() {
    sought_ = true;
    const AVStream* st = in_.st();
    const int64_t target =
        st->start_time + std::llround(static_cast<double>(seek_to_) / native_ / tb_);
    if (av_seek_frame(in_.fmt.get(), in_.stream, target, AVSEEK_FLAG_BACKWARD) < 0) {
      sought_ = false, seek_to_ = 0;
      return;
    }
    avcodec_flush_buffers(in_.dec.get());
  }

  // The first frame after a seek: which frame it is, from its time. At or before the start it
  // is taken as that frame, the ones before it counted as decoded and dropped; past the start
  // (a seek that overshot) or without a time, the file is read again from the top, and false
  // drops this frame.
  bool landed(Collector& c, int64_t ts) {
    const AVStream* st = in_.st();
    const int64_t k = ts == AV_NOPTS_VALUE
                          ? -1
                          : std::llround(static_cast<double>(ts - st->start_time) * tb_ * native_);
    if (k >= 0 && k <= seek_to_) {
      first_ts_ = st->start_time;
      decoded_ = k;
      t_ = static_cast<double>(k) / native_;
      c.resume_at(k, t_);
      return true;
    }
    av_frame_unref(frame_.get());
    sought_ = false, seek_to_ = 0;
    if (av_seek_frame(in_.fmt.get(), in_.stream, st->start_time, AVSEEK_FLAG_BACKWARD) < 0)
      fail(path_, ": cannot seek back to the first frame after a seek past frame ", k);
    avcodec_flush_buffers(in_.dec.get());
    return false;
  }

  // Starts this far in are sought; nearer ones are decoded from the top, which costs less than
  // a seek's key frame search on short clips.
  static constexpr int64_t kSeekFrom = 32;

  std::string path_;
  ffmpeg::Input in_;
  ffmpeg::Packet pkt_ = ffmpeg::make_packet();
  ffmpeg::Frame frame_ = ffmpeg::make_frame();
  double native_ = 0, step_ = 0, tb_ = 0, t_ = 0, t_end_ = 0;
  int64_t decoded_ = 0, first_ts_ = AV_NOPTS_VALUE;
  int64_t seek_to_ = 0;  // > 0: the source frame to seek to before decoding
  int64_t work_ = 0;     // frames the decoder gave, sought past ones not counted
  bool sought_ = false;
  bool ended_ = false;
};

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

struct VideoReader::Impl {
  Collector collector;
  std::unique_ptr<Source> source;
  bool more = true;
  bool whole = false;  // an image: read to its end at once, since its rate depends on its length
};

VideoReader::VideoReader(const std::string& path, const VideoReadOptions& opt) {
  ffmpeg::init();
  auto m = std::make_unique<Impl>(Impl{Collector(opt), nullptr, true, is_image_path(path)});
  std::error_code ec;
  if (fs::is_directory(path, ec))
    m->source = std::make_unique<FolderSource>(path);
  else
    m->source = std::make_unique<FileSource>(path, opt);
  impl_ = std::move(m);
}

VideoReader::~VideoReader() = default;

Video VideoReader::read(int64_t n) {
  Impl& m = *impl_;
  CUBIST_CHECK(n >= 1, "VideoReader::read: asks for ", n, " frames; ask for 1 or more");
  while (m.more && (m.whole || m.collector.frames() < n)) m.more = m.source->pump(m.collector);
  return m.collector.take(n, m.source->native_fps());
}

int64_t VideoReader::frames_decoded() const { return impl_->source->work(); }

Video read_video(const std::string& path, const VideoReadOptions& opt) {
  return VideoReader(path, opt).read(std::numeric_limits<int64_t>::max());
}

}  // namespace cubist
