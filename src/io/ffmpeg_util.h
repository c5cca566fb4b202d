// FFmpeg plumbing shared by video_read.cpp, video_write.cpp and video_probe.cpp: owning pointers
// for FFmpeg's C structs, error text, a quiet logger that keeps the last message (FFmpeg explains
// most failures only in its log), an opened input with its decoder, and RGB24 conversion.
// Internal to src/io: not part of the public API.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cubist::ffmpeg {

struct FormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatInput = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using Sws = std::unique_ptr<SwsContext, SwsDeleter>;

Frame make_frame();
Packet make_packet();

// Routes FFmpeg's log to a per-thread "last message" instead of stderr (the library never
// prints). Called by every entry point; cheap after the first call.
void init();
// The last error-level message FFmpeg logged on this thread ("" if none), and a reset.
std::string last_log();
void clear_log();

// "Invalid data found when processing input" for an AVERROR code, plus FFmpeg's last log line
// when it adds something.
std::string describe(int averror);

// Lower-case extension with the dot (".mp4"), or "" when there is none.
std::string extension(const std::string& path);

// An opened input file with its best video stream and a decoder ready to receive packets.
struct Input {
  FormatInput fmt;
  CodecContext dec;
  int stream = -1;
  AVStream* st() const { return fmt->streams[stream]; }
};
// Opens `path`, finds its video stream and opens the decoder; every failure is an Error that
// names the path. `threads`: decoder threads, 0 = FFmpeg's choice.
Input open_input(const std::string& path, int threads);

// The frame count the container promises: its frame count, else its video duration times the
// frame rate; 0 when it says neither. The duration is the video stream's own where the container
// has one (an audio track may run longer).
int64_t expected_frames(const Input& in);
// True when `got` frames fall clearly short of `expected` (a truncated file): fewer than 90% less
// one, which leaves room for containers whose durations are rounded or padded.
inline bool falls_short(int64_t got, int64_t expected) {
  return expected > 0 && double(got) < 0.9 * double(expected) - 1.0;
}

// The native frame rate the container declares (average, else the base rate), 0 if unknown.
double stream_fps(const AVStream* st);

// Converts decoded frames of any pixel format to RGB24 of a fixed output size, honouring the
// frame's colour space (BT.601/709) and range (limited/full).
class RgbConverter {
 public:
  // Writes `f` scaled to out_h x out_w into `dst` (out_h * out_w * 3 bytes).
  void convert(const AVFrame* f, int out_h, int out_w, uint8_t* dst);

 private:
  Sws sws_;
  int in_w_ = 0, in_h_ = 0, in_fmt_ = -1, out_w_ = 0, out_h_ = 0, space_ = -1, range_ = -1;
};

// Decodes whole image files (one PNG per call, say) with one reusable decoder: cheaper than
// opening each file as a container, which is what makes folders of PNG frames fast to load.
class ImageDecoder {
 public:
  explicit ImageDecoder(AVCodecID codec);
  // The decoded image; valid until the next call. Errors name the path.
  const AVFrame* decode(const std::string& path);

 private:
  void reopen();
  const AVCodec* codec_ = nullptr;
  CodecContext dec_;
  Packet pkt_ = make_packet();
  Frame frame_ = make_frame();
};

// Output size for a native size and a requested one (0 = native; one given keeps the aspect).
void target_size(int64_t in_h, int64_t in_w, int64_t want_h, int64_t want_w, int64_t* out_h,
                 int64_t* out_w);

// Metadata dictionary of a container as a map.
std::map<std::string, std::string> dict_to_map(const AVDictionary* d);

}  // namespace cubist::ffmpeg
