// write_video: H.264 MP4, VP9 WebM, GIF, one PNG, or a folder of PNG frames, chosen by the path
// (see video.h). Everything is written under a temporary name beside the target and renamed over
// it at the end, so a failed write leaves neither a half file nor a damaged earlier one.
extern "C" {
#include <libavutil/opt.h>
}

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/error.h"
#include "io/ffmpeg_util.h"
#include "io/frame_folder.h"
#include "io/gif_palette.h"
#include "io/video.h"

namespace cubist {

namespace fs = std::filesystem;
using ffmpeg::describe;

namespace {

enum class Form { kFolder, kPng, kMp4, kWebm, kGif };

constexpr const char* kAccepted =
    "accepted: .mp4 (H.264), .webm (VP9), .gif, .png (one frame), or a folder of PNG frames (a "
    "path ending in '/' or without extension)";

Form form_of(const std::string& path) {
  if (!path.empty() && path.back() == '/') return Form::kFolder;
  const std::string e = ffmpeg::extension(path);
  if (e.empty()) return Form::kFolder;
  if (e == ".mp4") return Form::kMp4;
  if (e == ".webm") return Form::kWebm;
  if (e == ".gif") return Form::kGif;
  if (e == ".png") return Form::kPng;
  fail(path, ": cannot write '", e, "' videos; ", kAccepted);
}

void check_video(const std::string& path, const Video& v) {
  CUBIST_CHECK(v.frames >= 1 && v.height >= 1 && v.width >= 1, path,
               ": cannot write an empty video (", v.frames, " frames of ", v.width, "x", v.height,
               "); every size must be >= 1");
  CUBIST_CHECK(v.rgb.size() == static_cast<size_t>(v.frames * v.height * v.width * 3), path,
               ": Video.rgb holds ", v.rgb.size(), " bytes but ", v.frames, " frames of ", v.width,
               "x", v.height, " RGB need ", v.frames * v.height * v.width * 3);
  CUBIST_CHECK(v.fps > 0 && std::isfinite(v.fps), path, ": fps must be > 0, got ", v.fps);
  CUBIST_CHECK(v.height <= 16384 && v.width <= 16384, path, ": frames of ", v.width, "x", v.height,
               " are larger than the 16384x16384 accepted");
}

// ---------------------------------------------------------------------------------------------
// PNG

class PngEncoder {
 public:
  PngEncoder(int64_t h, int64_t w) : frame_(ffmpeg::make_frame()), pkt_(ffmpeg::make_packet()) {
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    CUBIST_CHECK(codec, "write_video: this FFmpeg build has no PNG encoder");
    enc_.reset(avcodec_alloc_context3(codec));
    CUBIST_CHECK(enc_, "write_video: out of memory");
    enc_->width = int(w), enc_->height = int(h), enc_->pix_fmt = AV_PIX_FMT_RGB24;
    enc_->time_base = AVRational{1, 1};
    enc_->thread_count = 1;
    av_opt_set(enc_->priv_data, "pred", "paeth", 0);
    const int r = avcodec_open2(enc_.get(), codec, nullptr);
    if (r < 0) fail("write_video: cannot open the PNG encoder: ", describe(r));
    frame_->format = AV_PIX_FMT_RGB24, frame_->width = int(w), frame_->height = int(h);
  }

  // Encodes one RGB24 image and writes it as a complete PNG file.
  void write(const uint8_t* rgb, const std::string& file) {
    // The frame borrows the caller's pixels: the encoder copies nothing it keeps.
    frame_->data[0] = const_cast<uint8_t*>(rgb);
    frame_->linesize[0] = enc_->width * 3;
    int r = avcodec_send_frame(enc_.get(), frame_.get());
    if (r >= 0) r = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (r < 0) fail(file, ": PNG encoding failed: ", describe(r));
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(pkt_->data), pkt_->size);
    out.close();
    av_packet_unref(pkt_.get());
    CUBIST_CHECK(out, file, ": cannot write: ", std::strerror(errno));
  }

 private:
  ffmpeg::CodecContext enc_;
  ffmpeg::Frame frame_;
  ffmpeg::Packet pkt_;
};

void write_frame_folder(const std::string& dir, const Video& v, const VideoWriteOptions& opt) {
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) fail(dir, ": cannot create the folder: ", ec.message());
  PngEncoder enc(v.height, v.width);
  char name[32];
  for (int64_t t = 0; t < v.frames; ++t) {
    std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(t));
    enc.write(v.frame(t), (fs::path(dir) / name).string());
  }
  frame_folder::write_meta(dir, {v.fps, opt.metadata});
}

// ---------------------------------------------------------------------------------------------
// Encoded containers

struct OutputContext {
  AVFormatContext* oc = nullptr;
  ~OutputContext() {
    if (oc && oc->pb && !(oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&oc->pb);
    avformat_free_context(oc);
  }
};

struct CodecChoice {
  const char* muxer;
  const char* encoder;
  AVPixelFormat pix_fmt;
};

CodecChoice choice_for(Form f) {
  switch (f) {
    case Form::kMp4:
      return {"mp4", "libx264", AV_PIX_FMT_YUV420P};
    case Form::kWebm:
      return {"webm", "libvpx-vp9", AV_PIX_FMT_YUV420P};
    default:
      return {"gif", "gif", AV_PIX_FMT_PAL8};
  }
}

// Fills `frame` (already allocated in the encoder's format) with frame t of v.
class FrameFiller {
 public:
  FrameFiller(const Video& v, AVPixelFormat fmt) : v_(v), fmt_(fmt) {
    if (fmt == AV_PIX_FMT_PAL8) {
      palette_ = GifPalette::build(v);
      return;
    }
    sws_.reset(sws_getContext(
        int(v.width), int(v.height), AV_PIX_FMT_RGB24, int(v.width), int(v.height), fmt,
        SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr));
    CUBIST_CHECK(sws_, "write_video: swscale cannot convert rgb24 to the encoder's format");
    // sRGB input is full range; the output is BT.601 limited range, as tagged on the stream.
    const int* coef = sws_getCoefficients(SWS_CS_ITU601);
    sws_setColorspaceDetails(sws_.get(), coef, 1, coef, 0, 0, 1 << 16, 1 << 16);
  }

  void fill(int64_t t, AVFrame* frame) {
    if (fmt_ == AV_PIX_FMT_PAL8) {
      palette_.map_frame(v_.frame(t), v_.height, v_.width, frame->data[0], frame->linesize[0]);
      std::memcpy(frame->data[1], palette_.argb().data(), AVPALETTE_SIZE);
      return;
    }
    const uint8_t* src[4] = {v_.frame(t), nullptr, nullptr, nullptr};
    const int stride[4] = {int(v_.width * 3), 0, 0, 0};
    sws_scale(sws_.get(), src, stride, 0, int(v_.height), frame->data, frame->linesize);
  }

 private:
  const Video& v_;
  AVPixelFormat fmt_;
  ffmpeg::Sws sws_;
  GifPalette palette_;
};

void set_codec_options(const std::string& path, Form form, const VideoWriteOptions& opt,
                       AVCodecContext* enc, AVDictionary** o) {
  if (form == Form::kMp4) {
    const int crf = opt.crf < 0 ? 17 : opt.crf;
    CUBIST_CHECK(crf <= 51, path, ": H.264 crf must be in 0..51, got ", crf);
    av_dict_set_int(o, "crf", crf, 0);
    av_dict_set(o, "preset", opt.preset.c_str(), 0);
  } else if (form == Form::kWebm) {
    const int crf = opt.crf < 0 ? 24 : opt.crf;
    CUBIST_CHECK(crf <= 63, path, ": VP9 crf must be in 0..63, got ", crf);
    av_dict_set_int(o, "crf", crf, 0);
    av_dict_set(o, "deadline", "good", 0);
    av_dict_set(o, "cpu-used", "2", 0);
    av_dict_set(o, "row-mt", "1", 0);
    enc->bit_rate = 0;  // constant quality: crf alone decides
  }
  if (form != Form::kGif) {
    enc->colorspace = AVCOL_SPC_SMPTE170M;  // BT.601 matrix, which FrameFiller uses
    enc->color_range = AVCOL_RANGE_MPEG;
    enc->color_primaries = AVCOL_PRI_BT709;  // sRGB's primaries and transfer
    enc->color_trc = AVCOL_TRC_IEC61966_2_1;
  }
}

// Sends one frame (nullptr flushes) and writes every packet the encoder has ready.
void encode(const std::string& path, AVFormatContext* oc, AVCodecContext* enc, AVStream* st,
            const AVFrame* frame, AVPacket* pkt) {
  int r = avcodec_send_frame(enc, frame);
  if (r < 0) fail(path, ": encoding failed: ", describe(r));
  for (;;) {
    r = avcodec_receive_packet(enc, pkt);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
    if (r < 0) fail(path, ": encoding failed: ", describe(r));
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    pkt->stream_index = st->index;
    r = av_interleaved_write_frame(oc, pkt);
    if (r < 0) fail(path, ": writing failed: ", describe(r));
  }
}

void write_encoded(const std::string& path, const std::string& tmp, Form form, const Video& v,
                   const VideoWriteOptions& opt) {
  const CodecChoice ch = choice_for(form);
  if (form == Form::kMp4 && (v.width % 2 || v.height % 2))
    fail(path, ": H.264 in 4:2:0 needs even width and height, got ", v.width, "x", v.height,
         "; crop or resize to even sizes, or write .webm, .gif or PNG frames, which take any size");
  CUBIST_CHECK(form != Form::kGif || opt.metadata.empty(), path,
               ": GIF has no place for metadata; write .mp4, .webm or PNG frames to keep it");
  const AVCodec* codec = avcodec_find_encoder_by_name(ch.encoder);
  CUBIST_CHECK(codec, path, ": this FFmpeg build has no ", ch.encoder, " encoder");

  OutputContext out;
  int r = avformat_alloc_output_context2(&out.oc, nullptr, ch.muxer, tmp.c_str());
  if (r < 0) fail(path, ": cannot set up the ", ch.muxer, " muxer: ", describe(r));
  AVStream* st = avformat_new_stream(out.oc, nullptr);
  CUBIST_CHECK(st, path, ": out of memory");
  ffmpeg::CodecContext enc(avcodec_alloc_context3(codec));
  CUBIST_CHECK(enc, path, ": out of memory");
  const AVRational rate = av_d2q(v.fps, 1 << 16);
  enc->width = int(v.width), enc->height = int(v.height), enc->pix_fmt = ch.pix_fmt;
  enc->time_base = av_inv_q(rate);
  enc->framerate = rate;
  if (out.oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* codec_opts = nullptr;
  set_codec_options(path, form, opt, enc.get(), &codec_opts);
  r = avcodec_open2(enc.get(), codec, &codec_opts);
  av_dict_free(&codec_opts);
  if (r < 0) fail(path, ": cannot open the ", ch.encoder, " encoder: ", describe(r));
  r = avcodec_parameters_from_context(st->codecpar, enc.get());
  if (r < 0) fail(path, ": ", describe(r));
  st->time_base = enc->time_base;
  st->avg_frame_rate = rate;
  for (const auto& [k, val] : opt.metadata)
    av_dict_set(&out.oc->metadata, k.c_str(), val.c_str(), 0);

  r = avio_open(&out.oc->pb, tmp.c_str(), AVIO_FLAG_WRITE);
  if (r < 0) fail(path, ": cannot create ", tmp, ": ", describe(r));
  AVDictionary* mux_opts = nullptr;
  // faststart puts the index first (a reader needs no seek to the end; a cut file fails at once
  // on its index); use_metadata_tags stores any metadata key, not only the few MP4 names.
  if (form == Form::kMp4) av_dict_set(&mux_opts, "movflags", "+faststart+use_metadata_tags", 0);
  r = avformat_write_header(out.oc, &mux_opts);
  av_dict_free(&mux_opts);
  if (r < 0) fail(path, ": cannot write the header: ", describe(r));

  ffmpeg::Frame frame = ffmpeg::make_frame();
  ffmpeg::Packet pkt = ffmpeg::make_packet();
  frame->format = ch.pix_fmt, frame->width = enc->width, frame->height = enc->height;
  CUBIST_CHECK(av_frame_get_buffer(frame.get(), 0) == 0, path, ": out of memory");
  FrameFiller filler(v, ch.pix_fmt);
  for (int64_t t = 0; t < v.frames; ++t) {
    CUBIST_CHECK(av_frame_make_writable(frame.get()) == 0, path, ": out of memory");
    filler.fill(t, frame.get());
    frame->pts = t;
    encode(path, out.oc, enc.get(), st, frame.get(), pkt.get());
  }
  encode(path, out.oc, enc.get(), st, nullptr, pkt.get());
  r = av_write_trailer(out.oc);
  if (r < 0) fail(path, ": cannot finish the file: ", describe(r));
  r = avio_closep(&out.oc->pb);
  if (r < 0) fail(path, ": cannot close ", tmp, ": ", describe(r));
}

// ---------------------------------------------------------------------------------------------
// Temporary names and the final rename

std::string temp_beside(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  std::string name(".");
  name.append(target.filename().string());
  name.append(".tmp").append(std::to_string(getpid()));
  name.append("_").append(std::to_string(counter++));
  return (target.parent_path() / name).string();
}

// Moves the finished `tmp` onto `target`. A folder cannot be renamed over a non-empty folder, so
// the old one is first moved aside and put back if the swap fails.
void commit(const fs::path& tmp, const fs::path& target, bool folder) {
  std::error_code ec;
  if (!folder) {
    fs::rename(tmp, target, ec);
    if (ec) fail(target.string(), ": cannot move the finished file into place: ", ec.message());
    return;
  }
  fs::path aside;
  if (fs::exists(target, ec)) {
    aside = temp_beside(target);
    fs::rename(target, aside, ec);
    if (ec) fail(target.string(), ": cannot move the old folder aside: ", ec.message());
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    if (!aside.empty()) fs::rename(aside, target, ignored);
    fail(target.string(), ": cannot move the finished folder into place: ", ec.message());
  }
  if (!aside.empty()) fs::remove_all(aside, ec);
}

}  // namespace

bool video_keeps_metadata(const std::string& path) {
  const Form form = form_of(path);
  return form != Form::kGif && form != Form::kPng;
}

void write_video(const std::string& path, const Video& v, const VideoWriteOptions& opt) {
  ffmpeg::init();
  ffmpeg::clear_log();
  const Form form = form_of(path);
  check_video(path, v);
  CUBIST_CHECK(form != Form::kPng || v.frames == 1, path,
               ": a .png holds one frame, the video has ", v.frames,
               "; write a folder of PNG frames (a path ending in '/') instead");
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const fs::path target(trimmed);
  std::error_code ec;
  const bool folder = form == Form::kFolder;
  if (fs::exists(target, ec) && fs::is_directory(target, ec) != folder)
    fail(path, ": exists and is ", folder ? "a file" : "a folder", "; not replacing it");
  const std::string tmp = temp_beside(target);
  try {
    if (folder) {
      write_frame_folder(tmp, v, opt);
    } else if (form == Form::kPng) {
      CUBIST_CHECK(opt.metadata.empty(), path,
                   ": a single .png keeps no metadata here; write a folder of PNG frames (its "
                   "video.json keeps it), .mp4 or .webm");
      PngEncoder(v.height, v.width).write(v.frame(0), tmp);
    } else {
      write_encoded(path, tmp, form, v, opt);
    }
    commit(tmp, target, folder);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace cubist
