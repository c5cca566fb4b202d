// VideoWriter and write_video: H.264 MP4, VP9 WebM, GIF, one PNG, or a folder of PNG frames,
// chosen by the path (see video.h), written a chunk of frames at a time. Everything is written
// under a temporary name beside the target and renamed over it at the end, so a failed or
// abandoned write leaves neither a half file nor a damaged earlier one.
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
#include <memory>
#include <unordered_map>

#include "core/error.h"
#include "io/ffmpeg_util.h"
#include "io/frame_folder.h"
#include "io/gif_comment.h"
#include "io/gif_palette.h"
#include "io/output_folder.h"
#include "io/png_text.h"
#include "io/video.h"
#include "io/x264_cpu.h"

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

  // Encodes one RGB24 image and writes it as a complete PNG file, with `text` in tEXt chunks
  // (png_text.h).
  void write(const uint8_t* rgb, const std::string& file,
             const std::map<std::string, std::string>& text = {}) {
    // The frame borrows the caller's pixels: the encoder copies nothing it keeps.
    frame_->data[0] = const_cast<uint8_t*>(rgb);
    frame_->linesize[0] = enc_->width * 3;
    int r = avcodec_send_frame(enc_.get(), frame_.get());
    if (r >= 0) r = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (r < 0) fail(file, ": PNG encoding failed: ", describe(r));
    std::string png(reinterpret_cast<const char*>(pkt_->data), static_cast<size_t>(pkt_->size));
    av_packet_unref(pkt_.get());
    if (!text.empty()) png = with_png_text(std::move(png), text, file);
    std::ofstream out(file, std::ios::binary);
    out.write(png.data(), static_cast<std::streamsize>(png.size()));
    out.close();
    CUBIST_CHECK(out, file, ": cannot write: ", std::strerror(errno));
  }

 private:
  ffmpeg::CodecContext enc_;
  ffmpeg::Frame frame_;
  ffmpeg::Packet pkt_;
};

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

// Fills `frame` (already allocated in the encoder's format) with one RGB24 frame of h x w.
class FrameFiller {
 public:
  // palette: the GIF's, for PAL8; null for the YUV formats.
  FrameFiller(int64_t h, int64_t w, AVPixelFormat fmt, GifPalette* palette)
      : h_(h), w_(w), fmt_(fmt), palette_(palette) {
    if (fmt == AV_PIX_FMT_PAL8) return;
    sws_.reset(sws_getContext(int(w), int(h), AV_PIX_FMT_RGB24, int(w), int(h), fmt,
                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr,
                              nullptr));
    CUBIST_CHECK(sws_, "write_video: swscale cannot convert rgb24 to the encoder's format");
    // sRGB input is full range; the output is BT.601 limited range, as tagged on the stream.
    const int* coef = sws_getCoefficients(SWS_CS_ITU601);
    sws_setColorspaceDetails(sws_.get(), coef, 1, coef, 0, 0, 1 << 16, 1 << 16);
  }

  void fill(const uint8_t* rgb, AVFrame* frame) {
    if (fmt_ == AV_PIX_FMT_PAL8) {
      palette_->map_frame(rgb, h_, w_, frame->data[0], frame->linesize[0]);
      std::memcpy(frame->data[1], palette_->argb().data(), AVPALETTE_SIZE);
      return;
    }
    const uint8_t* src[4] = {rgb, nullptr, nullptr, nullptr};
    const int stride[4] = {int(w_ * 3), 0, 0, 0};
    sws_scale(sws_.get(), src, stride, 0, int(h_), frame->data, frame->linesize);
  }

 private:
  int64_t h_, w_;
  AVPixelFormat fmt_;
  ffmpeg::Sws sws_;
  GifPalette* palette_;
};

void set_codec_options(const std::string& path, Form form, const VideoWriteOptions& opt,
                       AVCodecContext* enc, AVDictionary** o) {
  if (form == Form::kMp4) {
    const int crf = opt.crf < 0 ? 17 : opt.crf;
    CUBIST_CHECK(crf <= 51, path, ": H.264 crf must be in 0..51, got ", crf);
    av_dict_set_int(o, "crf", crf, 0);
    av_dict_set(o, "preset", opt.preset.c_str(), 0);
    // Without AVX-512 the same frames always give the same bytes (io/x264_cpu.h).
    static const std::string cpu = x264_cpu_without_avx512();
    if (!cpu.empty()) av_dict_set(o, "x264-params", ("asm=" + cpu).c_str(), 0);
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

// An H.264, VP9 or GIF file being written to `tmp` a frame at a time: the encoder is opened and
// the header written on construction, each add() encodes one frame, finish() flushes the encoder
// and writes the trailer.
class EncodedStream {
 public:
  EncodedStream(const std::string& path, const std::string& tmp, Form form, int64_t h, int64_t w,
                double fps, const VideoWriteOptions& opt, GifPalette* palette)
      : path_(path), tmp_(tmp) {
    const CodecChoice ch = choice_for(form);
    const AVCodec* codec = avcodec_find_encoder_by_name(ch.encoder);
    CUBIST_CHECK(codec, path, ": this FFmpeg build has no ", ch.encoder, " encoder");
    int r = avformat_alloc_output_context2(&out_.oc, nullptr, ch.muxer, tmp.c_str());
    if (r < 0) fail(path, ": cannot set up the ", ch.muxer, " muxer: ", describe(r));
    st_ = avformat_new_stream(out_.oc, nullptr);
    CUBIST_CHECK(st_, path, ": out of memory");
    enc_.reset(avcodec_alloc_context3(codec));
    CUBIST_CHECK(enc_, path, ": out of memory");
    const AVRational rate = av_d2q(fps, 1 << 16);
    enc_->width = int(w), enc_->height = int(h), enc_->pix_fmt = ch.pix_fmt;
    enc_->time_base = av_inv_q(rate);
    enc_->framerate = rate;
    if (out_.oc->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    // Matroska's segment and track UIDs are random unless bit-exact; the same frames should
    // give the same WebM file.
    if (form == Form::kWebm) out_.oc->flags |= AVFMT_FLAG_BITEXACT;
    AVDictionary* codec_opts = nullptr;
    set_codec_options(path, form, opt, enc_.get(), &codec_opts);
    r = avcodec_open2(enc_.get(), codec, &codec_opts);
    av_dict_free(&codec_opts);
    if (r < 0) fail(path, ": cannot open the ", ch.encoder, " encoder: ", describe(r));
    r = avcodec_parameters_from_context(st_->codecpar, enc_.get());
    if (r < 0) fail(path, ": ", describe(r));
    st_->time_base = enc_->time_base;
    st_->avg_frame_rate = rate;
    for (const auto& [k, val] : opt.metadata)
      av_dict_set(&out_.oc->metadata, k.c_str(), val.c_str(), 0);

    r = avio_open(&out_.oc->pb, tmp.c_str(), AVIO_FLAG_WRITE);
    if (r < 0) fail(path, ": cannot create ", tmp, ": ", describe(r));
    AVDictionary* mux_opts = nullptr;
    // faststart puts the index first (a reader needs no seek to the end; a cut file fails at once
    // on its index); use_metadata_tags stores any metadata key, not only the few MP4 names.
    if (form == Form::kMp4) av_dict_set(&mux_opts, "movflags", "+faststart+use_metadata_tags", 0);
    r = avformat_write_header(out_.oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (r < 0) fail(path, ": cannot write the header: ", describe(r));

    frame_->format = ch.pix_fmt, frame_->width = enc_->width, frame_->height = enc_->height;
    CUBIST_CHECK(av_frame_get_buffer(frame_.get(), 0) == 0, path, ": out of memory");
    filler_ = std::make_unique<FrameFiller>(h, w, ch.pix_fmt, palette);
  }

  void add(const uint8_t* rgb) {
    CUBIST_CHECK(av_frame_make_writable(frame_.get()) == 0, path_, ": out of memory");
    filler_->fill(rgb, frame_.get());
    frame_->pts = pts_++;
    encode(path_, out_.oc, enc_.get(), st_, frame_.get(), pkt_.get());
  }

  void finish() {
    encode(path_, out_.oc, enc_.get(), st_, nullptr, pkt_.get());
    int r = av_write_trailer(out_.oc);
    if (r < 0) fail(path_, ": cannot finish the file: ", describe(r));
    r = avio_closep(&out_.oc->pb);
    if (r < 0) fail(path_, ": cannot close ", tmp_, ": ", describe(r));
  }

 private:
  std::string path_, tmp_;
  OutputContext out_;
  AVStream* st_ = nullptr;
  ffmpeg::CodecContext enc_;
  ffmpeg::Frame frame_ = ffmpeg::make_frame();
  ffmpeg::Packet pkt_ = ffmpeg::make_packet();
  std::unique_ptr<FrameFiller> filler_;
  int64_t pts_ = 0;
};

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

// An Error unless a video of form `form` can be written at `path` (check_output_place), and, for
// a folder of frames where a folder is already, unless that folder holds only frames named as
// write_video names them (000000.png) and their video.json: an earlier output, replaced as a file
// would be. Anything else in it (notes, other folders, pictures of other names) would be lost
// with it, so it is refused.
void check_place(const std::string& path, Form form) {
  check_output_place(path, form == Form::kFolder);
  std::error_code ec;
  if (form != Form::kFolder || !fs::is_directory(path, ec)) return;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    const bool frame = !e.is_directory(ec) && frame_folder::is_frame_name(name);
    if (!frame && name != frame_folder::kMetaName)
      fail(path, ": the folder is there and holds more than video frames (", name,
           "); not replacing it: write the frames to a new folder, or to this one once it holds "
           "only frames named by number (000000.png, 000001.png, ...) and video.json");
  }
}

}  // namespace

void check_video_output(const std::string& path) { check_place(path, form_of(path)); }

struct VideoWriter::Impl {
  std::string path;
  Form form;
  fs::path target;
  std::string tmp;
  int64_t height, width;
  double fps;
  VideoWriteOptions opt;
  int64_t frames = 0;
  bool done = false;
  std::unique_ptr<PngEncoder> png;        // a folder of PNG frames, a frame at a time
  std::unique_ptr<EncodedStream> stream;  // H.264 or VP9, a frame at a time
  Video held;                             // a GIF (one palette for all) or a single .png
};

VideoWriter::VideoWriter(const std::string& path, int64_t height, int64_t width, double fps,
                         const VideoWriteOptions& opt)
    : impl_(std::make_unique<Impl>()) {
  ffmpeg::init();
  ffmpeg::clear_log();
  Impl& m = *impl_;
  m.path = path, m.form = form_of(path), m.height = height, m.width = width, m.fps = fps;
  m.opt = opt;
  CUBIST_CHECK(height >= 1 && width >= 1, path, ": cannot write an empty video (frames of ", width,
               "x", height, "); every size must be >= 1");
  CUBIST_CHECK(fps > 0 && std::isfinite(fps), path, ": fps must be > 0, got ", fps);
  CUBIST_CHECK(height <= kMaxVideoSide && width <= kMaxVideoSide, path, ": frames of ", width, "x",
               height, " are larger than the ", kMaxVideoSide, "x", kMaxVideoSide, " accepted");
  if (m.form == Form::kMp4 && (width % 2 || height % 2))
    fail(path, ": H.264 in 4:2:0 needs even width and height, got ", width, "x", height,
         "; crop or resize to even sizes, or write .webm, .gif or PNG frames, which take any size");
  const bool folder = m.form == Form::kFolder;
  check_place(path, m.form);
  m.target = fs::path(without_trailing_slashes(path));
  std::error_code ec;
  m.tmp = temp_beside(m.target);
  try {
    if (folder) {
      fs::create_directory(m.tmp, ec);
      if (ec) fail(m.tmp, ": cannot create the folder: ", ec.message());
      m.png = std::make_unique<PngEncoder>(height, width);
    } else if (m.form == Form::kMp4 || m.form == Form::kWebm) {
      m.stream =
          std::make_unique<EncodedStream>(path, m.tmp, m.form, height, width, fps, opt, nullptr);
    } else {
      m.held = Video(0, height, width, fps);
    }
  } catch (...) {
    fs::remove_all(m.tmp, ec);
    throw;
  }
}

VideoWriter::~VideoWriter() {
  if (!impl_ || impl_->done) return;
  impl_->stream.reset();  // closes the file before it is removed
  std::error_code ec;
  fs::remove_all(impl_->tmp, ec);  // never finished: nothing replaced, nothing left
}

void VideoWriter::write(const Video& v) {
  Impl& m = *impl_;
  CUBIST_CHECK(!m.done, m.path, ": the video is already finished");
  CUBIST_CHECK(v.height == m.height && v.width == m.width, m.path, ": frames of ", v.width, "x",
               v.height, " given to a video of ", m.width, "x", m.height);
  CUBIST_CHECK(v.rgb.size() == static_cast<size_t>(v.frames * v.height * v.width * 3), m.path,
               ": Video.rgb holds ", v.rgb.size(), " bytes but ", v.frames, " frames of ", v.width,
               "x", v.height, " RGB need ", v.frames * v.height * v.width * 3);
  CUBIST_CHECK(m.form != Form::kPng || m.frames + v.frames <= 1, m.path,
               ": a .png holds one frame, the video has at least ", m.frames + v.frames,
               "; write a folder of PNG frames (a path ending in '/') instead");
  if (m.png) {
    char name[32];
    for (int64_t t = 0; t < v.frames; ++t) {
      std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(m.frames + t));
      m.png->write(v.frame(t), (fs::path(m.tmp) / name).string());
    }
  } else if (m.stream) {
    for (int64_t t = 0; t < v.frames; ++t) m.stream->add(v.frame(t));
  } else {
    m.held.rgb.insert(m.held.rgb.end(), v.rgb.begin(), v.rgb.end());
    m.held.frames += v.frames;
  }
  m.frames += v.frames;
}

void VideoWriter::close() {
  Impl& m = *impl_;
  CUBIST_CHECK(!m.done, m.path, ": the video is already finished");
  CUBIST_CHECK(m.frames >= 1, m.path, ": cannot write an empty video (0 frames of ", m.width, "x",
               m.height, "); every size must be >= 1");
  if (m.png) {
    frame_folder::write_meta(m.tmp, {m.fps, m.opt.metadata});
  } else if (m.stream) {
    m.stream->finish();
    m.stream.reset();
  } else if (m.form == Form::kPng) {
    PngEncoder(m.height, m.width).write(m.held.frame(0), m.tmp, m.opt.metadata);
  } else {  // GIF: one palette for the whole clip, so the frames are encoded at the end
    GifPalette palette = GifPalette::build(m.held);
    EncodedStream gif(m.path, m.tmp, m.form, m.height, m.width, m.fps, m.opt, &palette);
    for (int64_t t = 0; t < m.held.frames; ++t) gif.add(m.held.frame(t));
    gif.finish();
    if (!m.opt.metadata.empty()) add_gif_comment(m.tmp, gif_comment_text(m.opt.metadata));
  }
  commit(m.tmp, m.target, m.form == Form::kFolder);
  m.done = true;
}

int64_t VideoWriter::frames() const { return impl_->frames; }

void write_video(const std::string& path, const Video& v, const VideoWriteOptions& opt) {
  VideoWriter w(path, v.height, v.width, v.fps, opt);  // the writer checks everything
  w.write(v);
  w.close();
}

}  // namespace cubist
