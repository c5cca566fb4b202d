// FFmpeg plumbing shared by the video reader, writer and prober (see ffmpeg_util.h).
#include "io/ffmpeg_util.h"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/error.h"
#include "core/strings.h"

namespace cubist::ffmpeg {

namespace fs = std::filesystem;

namespace {

thread_local std::string t_last_log;

// FFmpeg logs from whichever thread hit the problem; keeping the message per thread lets the
// caller that sees the failing return code attach the explanation to its Error.
void log_callback(void*, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_ERROR) return;
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (!line.empty()) t_last_log = line;
}

}  // namespace

Frame make_frame() {
  Frame f(av_frame_alloc());
  CUBIST_CHECK(f, "video: out of memory allocating a frame");
  return f;
}

Packet make_packet() {
  Packet p(av_packet_alloc());
  CUBIST_CHECK(p, "video: out of memory allocating a packet");
  return p;
}

void init() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

std::string last_log() { return t_last_log; }
void clear_log() { t_last_log.clear(); }

std::string describe(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averror, buf, sizeof buf);
  std::string s(buf);
  const std::string log = last_log();
  if (!log.empty() && log != s) s += " (" + log + ")";
  return s;
}

std::string extension(const std::string& path) {
  return ascii_lower(fs::path(path).extension().string());
}

namespace {

// Errors for files whose own structure shows they were cut short.
void check_not_cut(const Input& in, const std::string& path) {
  // An index that points past the end of the file: a cut MP4 (its index comes first).
  const int entries = avformat_index_get_entries_count(in.st());
  const int64_t file_bytes = in.fmt->pb ? avio_size(in.fmt->pb) : -1;
  if (entries > 0 && file_bytes > 0) {
    const AVIndexEntry* e = avformat_index_get_entry(in.st(), entries - 1);
    if (e && e->pos + e->size > file_bytes)
      fail(path, ": truncated: its index points to byte ", e->pos + e->size, " but the file has ",
           file_bytes);
  }
  // A GIF ends with the trailer byte 0x3B; without it the last frame is cut short.
  if (!std::strcmp(in.fmt->iformat->name, "gif") && file_bytes > 0) {
    std::ifstream f(path, std::ios::binary);
    f.seekg(-1, std::ios::end);
    const int last = f.get();
    if (last != 0x3B)
      fail(path, ": truncated: a GIF ends with the trailer byte 0x3B, this one does not");
  }
}

}  // namespace

Input open_input(const std::string& path, int threads) {
  init();
  clear_log();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, ": no such file");
  if (fs::is_directory(path, ec)) fail(path, ": is a folder without PNG frames, not a video");
  const auto size = fs::file_size(path, ec);
  if (!ec && size == 0) fail(path, ": empty file (0 bytes), not a video");

  Input in;
  AVFormatContext* raw = nullptr;
  int r = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (r < 0) fail(path, ": cannot open as a video: ", describe(r));
  in.fmt.reset(raw);
  r = avformat_find_stream_info(in.fmt.get(), nullptr);
  if (r < 0) fail(path, ": cannot read the stream parameters: ", describe(r));

  const AVCodec* codec = nullptr;
  r = av_find_best_stream(in.fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (r == AVERROR_STREAM_NOT_FOUND) fail(path, ": has no video stream");
  if (r == AVERROR_DECODER_NOT_FOUND || (r >= 0 && !codec)) {
    const AVStream* st = r >= 0 ? in.fmt->streams[r] : nullptr;
    const char* name = st ? avcodec_get_name(st->codecpar->codec_id) : "unknown";
    fail(path, ": unsupported codec '", name, "': this FFmpeg build has no decoder for it");
  }
  if (r < 0) fail(path, ": cannot find a video stream: ", describe(r));
  in.stream = r;
  check_not_cut(in, path);
  for (unsigned i = 0; i < in.fmt->nb_streams; ++i)
    if (static_cast<int>(i) != in.stream) in.fmt->streams[i]->discard = AVDISCARD_ALL;

  in.dec.reset(avcodec_alloc_context3(codec));
  CUBIST_CHECK(in.dec, path, ": out of memory allocating a decoder");
  r = avcodec_parameters_to_context(in.dec.get(), in.st()->codecpar);
  if (r < 0) fail(path, ": bad codec parameters: ", describe(r));
  in.dec->thread_count = std::max(threads, 0);
  in.dec->pkt_timebase = in.st()->time_base;
  r = avcodec_open2(in.dec.get(), codec, nullptr);
  if (r < 0) fail(path, ": cannot open the '", codec->name, "' decoder: ", describe(r));
  return in;
}

ImageDecoder::ImageDecoder(AVCodecID codec_id) {
  init();
  codec_ = avcodec_find_decoder(codec_id);
  CUBIST_CHECK(codec_, "video: this FFmpeg build has no ", avcodec_get_name(codec_id), " decoder");
}

void ImageDecoder::reopen() {
  dec_.reset(avcodec_alloc_context3(codec_));
  CUBIST_CHECK(dec_, "video: out of memory allocating a decoder");
  dec_->thread_count = 1;  // frame threads would hold each image back until the next arrives
  const int r = avcodec_open2(dec_.get(), codec_, nullptr);
  if (r < 0) fail("video: cannot open the ", codec_->name, " decoder: ", describe(r));
}

const AVFrame* ImageDecoder::decode(const std::string& path) {
  clear_log();
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, ": cannot open");
  const auto size = static_cast<int64_t>(in.tellg());
  if (size <= 0) fail(path, ": empty file (0 bytes), not an image");
  av_packet_unref(pkt_.get());
  CUBIST_CHECK(av_new_packet(pkt_.get(), static_cast<int>(size)) == 0, path, ": out of memory");
  in.seekg(0);
  in.read(reinterpret_cast<char*>(pkt_->data), size);
  if (!in) fail(path, ": read error");
  av_frame_unref(frame_.get());
  // A fresh decoder per image: FFmpeg 5.1's PNG decoder keeps the previous image's last row and
  // filters the next image's first row against it (seen here: the same file decoded twice gave
  // two different images), and a context costs microseconds.
  reopen();
  int r = avcodec_send_packet(dec_.get(), pkt_.get());
  if (r >= 0) r = avcodec_receive_frame(dec_.get(), frame_.get());
  if (r < 0) {
    const std::string why = r == AVERROR(EAGAIN) ? "no complete image in the data" : describe(r);
    fail(path, ": cannot decode as ", dec_->codec->name, ": ", why);
  }
  return frame_.get();
}

namespace {

// Seconds of the video stream as the container declares them; 0 if unknown.
double declared_duration(const Input& in) {
  const AVStream* st = in.st();
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    return st->duration * av_q2d(st->time_base);
  // Matroska keeps each stream's duration in a tag, "HH:MM:SS.nnnnnnnnn".
  if (const AVDictionaryEntry* e = av_dict_get(st->metadata, "DURATION", nullptr, 0)) {
    int h = 0, m = 0;
    double sec = 0;
    if (std::sscanf(e->value, "%d:%d:%lf", &h, &m, &sec) == 3) return h * 3600.0 + m * 60.0 + sec;
  }
  if (in.fmt->nb_streams == 1 && in.fmt->duration > 0)
    return in.fmt->duration / double(AV_TIME_BASE);
  return 0.0;
}

}  // namespace

int64_t expected_frames(const Input& in) {
  if (in.st()->nb_frames > 0) return in.st()->nb_frames;
  return std::llround(declared_duration(in) * stream_fps(in.st()));
}

double stream_fps(const AVStream* st) {
  for (AVRational q : {st->avg_frame_rate, st->r_frame_rate})
    if (q.num > 0 && q.den > 0) return av_q2d(q);
  return 0.0;
}

namespace {

// swscale knows the full-range "J" formats as separate pixel formats (deprecated): map them to
// the plain ones and say full range instead.
AVPixelFormat unjpeg(AVPixelFormat f, bool* full_range) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      *full_range = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      *full_range = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      *full_range = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      *full_range = true;
      return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
      *full_range = true;
      return AV_PIX_FMT_YUV411P;
    default:
      return f;
  }
}

int sws_space(AVColorSpace cs) {
  switch (cs) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    default:
      return SWS_CS_DEFAULT;  // BT.601, FFmpeg's assumption for untagged video
  }
}

}  // namespace

void RgbConverter::convert(const AVFrame* f, int out_h, int out_w, uint8_t* dst) {
  const auto fmt = static_cast<AVPixelFormat>(f->format);
  if (fmt == AV_PIX_FMT_RGB24 && f->width == out_w && f->height == out_h) {
    for (int y = 0; y < out_h; ++y)
      std::memcpy(dst + static_cast<size_t>(y) * out_w * 3, f->data[0] + y * f->linesize[0],
                  static_cast<size_t>(out_w) * 3);
    return;
  }
  bool full = f->color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat in_fmt = unjpeg(fmt, &full);
  const int space = sws_space(f->colorspace);
  if (!sws_ || f->width != in_w_ || f->height != in_h_ || in_fmt != in_fmt_ || out_w != out_w_ ||
      out_h != out_h_ || space != space_ || int(full) != range_) {
    sws_.reset(sws_getContext(f->width, f->height, in_fmt, out_w, out_h, AV_PIX_FMT_RGB24,
                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr,
                              nullptr));
    CUBIST_CHECK(sws_, "video: swscale cannot convert ", av_get_pix_fmt_name(in_fmt), " ", f->width,
                 "x", f->height, " to rgb24 ", out_w, "x", out_h);
    const int* coef = sws_getCoefficients(space);
    if (!(av_pix_fmt_desc_get(in_fmt)->flags & AV_PIX_FMT_FLAG_RGB))
      sws_setColorspaceDetails(sws_.get(), coef, full ? 1 : 0, coef, 1, 0, 1 << 16, 1 << 16);
    in_w_ = f->width, in_h_ = f->height, in_fmt_ = in_fmt, out_w_ = out_w, out_h_ = out_h;
    space_ = space, range_ = full;
  }
  uint8_t* dst_planes[4] = {dst, nullptr, nullptr, nullptr};
  int dst_stride[4] = {out_w * 3, 0, 0, 0};
  sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, dst_planes, dst_stride);
}

void target_size(int64_t in_h, int64_t in_w, int64_t want_h, int64_t want_w, int64_t* out_h,
                 int64_t* out_w) {
  CUBIST_CHECK(want_h >= 0 && want_w >= 0,
               "read_video: target size must be >= 0 (0 = native), got ", want_w, "x", want_h);
  *out_h = in_h, *out_w = in_w;
  if (want_h > 0 && want_w > 0) {
    *out_h = want_h, *out_w = want_w;
  } else if (want_h > 0) {
    *out_h = want_h;
    *out_w = std::max<int64_t>(1, std::llround(double(in_w) * want_h / in_h));
  } else if (want_w > 0) {
    *out_w = want_w;
    *out_h = std::max<int64_t>(1, std::llround(double(in_h) * want_w / in_w));
  }
}

std::map<std::string, std::string> dict_to_map(const AVDictionary* d) {
  std::map<std::string, std::string> m;
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX))) {
    // Matroska stores tag names in capitals (COMMENT); keys read back in lower case everywhere.
    m[ascii_lower(e->key)] = e->value;
  }
  return m;
}

}  // namespace cubist::ffmpeg
