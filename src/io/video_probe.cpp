// probe_video: frames, rate, size, duration and codec from the container's header, with a decode
// of the first frame to prove the stream is readable; frames are counted (packets, not decoded)
// only when the header does not say.
extern "C" {
#include <libavutil/pixdesc.h>
}

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/ffmpeg_util.h"
#include "io/frame_folder.h"
#include "io/gif_comment.h"
#include "io/video.h"

namespace cubist {

namespace fs = std::filesystem;
using ffmpeg::describe;

namespace {

constexpr double kDefaultFps = 8.0;

// Whether a frame shows transparency: its format carries alpha and some pixel is not opaque.
// The format alone says too much: GIFs decode to bgra whether or not a colour is transparent.
bool has_alpha(const AVFrame* f) {
  const auto fmt = static_cast<AVPixelFormat>(f->format);
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  if (!d || !(d->flags & AV_PIX_FMT_FLAG_ALPHA)) return false;
  ffmpeg::Sws sws(sws_getContext(f->width, f->height, fmt, f->width, f->height, AV_PIX_FMT_RGBA,
                                 SWS_POINT, nullptr, nullptr, nullptr));
  if (!sws) return false;  // a format swscale cannot read: no note rather than a wrong one
  std::vector<uint8_t> rgba(static_cast<size_t>(f->width) * f->height * 4);
  uint8_t* dst[4] = {rgba.data(), nullptr, nullptr, nullptr};
  const int dst_stride[4] = {f->width * 4, 0, 0, 0};
  sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, dst_stride);
  for (size_t i = 3; i < rgba.size(); i += 4)
    if (rgba[i] != 255) return true;
  return false;
}

VideoInfo probe_folder(const std::string& dir) {
  const std::vector<std::string> files = frame_folder::list_png(dir);
  if (files.empty()) fail(dir, ": a folder without .png frames, not a video");
  const frame_folder::Meta meta = frame_folder::read_meta(dir);
  ffmpeg::ImageDecoder dec(AV_CODEC_ID_PNG);
  const AVFrame* f = dec.decode(files.front());
  VideoInfo info;
  info.frames = static_cast<int64_t>(files.size());
  info.fps = meta.fps > 0 ? meta.fps : kDefaultFps;
  info.width = f->width, info.height = f->height;
  info.alpha = has_alpha(f);
  info.duration = info.frames / info.fps;
  info.codec = "png";
  info.format = "png_frames";
  info.metadata = meta.metadata;
  return info;
}

// Reads packets until the first frame decodes; returns how many video packets that took.
int64_t decode_first_frame(const std::string& path, ffmpeg::Input& in, AVPacket* pkt,
                           std::map<std::string, std::string>& tags, bool& alpha) {
  ffmpeg::Frame frame = ffmpeg::make_frame();
  int64_t packets = 0;
  for (;;) {
    const int r = av_read_frame(in.fmt.get(), pkt);
    if (r == AVERROR_EOF) break;
    if (r < 0) fail(path, ": truncated or corrupt before the first frame: ", describe(r));
    if (pkt->stream_index != in.stream) {
      av_packet_unref(pkt);
      continue;
    }
    ++packets;
    const int s = avcodec_send_packet(in.dec.get(), pkt);
    av_packet_unref(pkt);
    if (s < 0 && s != AVERROR(EAGAIN)) fail(path, ": corrupt first frame: ", describe(s));
    const int g = avcodec_receive_frame(in.dec.get(), frame.get());
    if (g == 0) {
      tags = ffmpeg::dict_to_map(frame->metadata);
      alpha = has_alpha(frame.get());
      return packets;
    }
    if (g != AVERROR(EAGAIN)) fail(path, ": corrupt first frame: ", describe(g));
  }
  avcodec_send_packet(in.dec.get(), nullptr);
  if (avcodec_receive_frame(in.dec.get(), frame.get()) == 0) {
    tags = ffmpeg::dict_to_map(frame->metadata);
    alpha = has_alpha(frame.get());
    return packets;
  }
  fail(path, ": no frame could be decoded (empty or corrupt video)");
}

// Counts the remaining video packets (one per frame in the containers we meet: MP4, Matroska,
// GIF, AVI) without decoding them.
int64_t count_packets(const std::string& path, ffmpeg::Input& in, AVPacket* pkt) {
  int64_t n = 0;
  for (;;) {
    const int r = av_read_frame(in.fmt.get(), pkt);
    if (r == AVERROR_EOF) return n;
    if (r < 0) fail(path, ": truncated or corrupt after ", n, " more packets: ", describe(r));
    if (pkt->stream_index == in.stream) ++n;
    av_packet_unref(pkt);
  }
}

VideoInfo probe_file(const std::string& path) {
  ffmpeg::Input in = ffmpeg::open_input(path, 1);
  const AVStream* st = in.st();
  VideoInfo info;
  info.codec = avcodec_get_name(st->codecpar->codec_id);
  info.format = in.fmt->iformat->name;
  info.metadata = ffmpeg::dict_to_map(in.fmt->metadata);
  if (info.format == "gif" && info.metadata.count("comment"))  // write_video's tags, in one text
    info.metadata = gif_comment_metadata(info.metadata.at("comment"));
  info.width = st->codecpar->width, info.height = st->codecpar->height;
  info.fps = ffmpeg::stream_fps(st);
  ffmpeg::Packet pkt = ffmpeg::make_packet();
  std::map<std::string, std::string> frame_tags;  // a PNG's tEXt chunks (png_text.h)
  const int64_t first = decode_first_frame(path, in, pkt.get(), frame_tags, info.alpha);
  if (is_image_path(path)) {
    info.frames = 1, info.fps = kDefaultFps;
    info.metadata.insert(frame_tags.begin(), frame_tags.end());
  } else if (st->nb_frames > 0) {
    info.frames = st->nb_frames;
  } else {
    info.frames = first + count_packets(path, in, pkt.get());
    info.frames_counted = true;
    // The header's duration (written when the file was finished) against what is there.
    const int64_t expected = ffmpeg::expected_frames(in);
    if (ffmpeg::falls_short(info.frames, expected))
      fail(path, ": truncated: the header promises about ", expected, " frames but only ",
           info.frames, " are there");
  }
  if (info.fps <= 0) info.fps = kDefaultFps;
  info.duration = info.frames / info.fps;
  return info;
}

}  // namespace

VideoInfo probe_video(const std::string& path) {
  ffmpeg::init();
  std::error_code ec;
  if (fs::is_directory(path, ec)) return probe_folder(path);
  return probe_file(path);
}

}  // namespace cubist
