#include "models/vae/latent_io.h"

#include <algorithm>
#include <functional>
#include <map>

#include "autograd/basic.h"
#include "core/allocator.h"
#include "io/safetensors.h"
#include "models/vae/vae.h"

namespace cubist {

namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

std::string meta_value(const SafeTensors& f, const std::string& key) {
  const auto it = f.metadata().find(key);
  CUBIST_CHECK(it != f.metadata().end(), f.path(), ": latent file metadata has no \"", key, "\"");
  return it->second;
}

// A video or another file given where a latent belongs fails as safetensors; say what belongs.
SafeTensors open_latent_file(const std::string& path) {
  try {
    return SafeTensors::open(path);
  } catch (const Error& e) {
    fail(e.what(), "; a latent file is the .safetensors that `cubist vae encode` writes");
  }
}

// What a refined latent records of its refinement, so that it can be told apart and made again.
void record_refinement(LatentFile& f, const Vae& vae, const RefineOptions& o,
                       const RefinePlan& plan) {
  f.refine_steps = o.steps, f.refined_for = vae.decoder_fingerprint();
  f.refine_lr = o.lr, f.refine_plan = plan;
}

// The frames of a video file as a refinement asks for them, in order (RefineFrames): read once,
// held only from the first frame still asked for, and padded to H x W and past the last frame as
// pad_video pads; so a refinement in chunks holds a window of the video, not the whole of it.
class FileFrames {
 public:
  FileFrames(const std::string& path, int64_t height, int64_t width)
      : path_(path), reader_(path), height_(height), width_(width) {}

  Tensor operator()(int64_t f0, int64_t f1) {
    CUBIST_CHECK(f0 >= first_ && f1 > f0, path_, ": frames ", f0, " to ", f1,
                 " asked for after frame ", first_, "; a refinement reads forward");
    while (!ended_ && first_ + held_.frames < f1) {
      Video more = reader_.read(f1 - first_ - held_.frames);
      if (more.frames == 0)
        ended_ = true;
      else
        append(more);
    }
    // Frames past the end are the last one repeated; the last is kept for them.
    forget(std::min(f0 - first_, held_.frames - 1));
    CUBIST_CHECK(held_.frames > 0, path_, ": no frames to refine towards");
    Video part(f1 - f0, held_.height, held_.width, held_.fps);
    const size_t frame = static_cast<size_t>(held_.height * held_.width * 3);
    for (int64_t t = f0; t < f1; ++t)
      std::copy_n(held_.frame(std::min(t - first_, held_.frames - 1)), frame, part.frame(t - f0));
    return video_to_tensor(pad_to(part, f1 - f0, height_, width_));
  }

 private:
  void append(const Video& v) {
    if (held_.frames == 0) {
      held_ = v;
      return;
    }
    held_.rgb.insert(held_.rgb.end(), v.rgb.begin(), v.rgb.end());
    held_.frames += v.frames;
  }
  void forget(int64_t frames) {
    if (frames <= 0) return;
    const size_t bytes = static_cast<size_t>(frames * held_.height * held_.width * 3);
    held_.rgb.erase(held_.rgb.begin(), held_.rgb.begin() + static_cast<std::ptrdiff_t>(bytes));
    held_.frames -= frames, first_ += frames;
  }

  std::string path_;
  VideoReader reader_;
  int64_t height_, width_;
  Video held_;         // frames first_, first_ + 1, ...
  int64_t first_ = 0;  // the index in the video of held_'s first frame
  bool ended_ = false;
};

}  // namespace

void save_latent(const std::string& path, const LatentFile& f) {
  CUBIST_CHECK(f.latent.dim() == 4 && f.latent.size(0) == f.config.latent_channels,
               "save_latent: expects a [", f.config.latent_channels, ", T', H', W'] latent, got ",
               f.latent.shape());
  std::map<std::string, std::string> meta = {{"format", kLatentFormat},
                                             {"vae_config", f.config.to_json().dump()},
                                             {"frames", std::to_string(f.frames)},
                                             {"height", std::to_string(f.height)},
                                             {"width", std::to_string(f.width)},
                                             {"fps", std::to_string(f.fps)}};
  if (!f.source.empty()) meta["source"] = f.source;
  if (f.start_frame > 0) meta["start_frame"] = std::to_string(f.start_frame);
  if (!f.caption.empty()) meta["caption"] = f.caption;
  if (!f.vae.empty()) meta["vae"] = f.vae;
  if (!f.vae_encoder.empty()) meta["vae_encoder"] = f.vae_encoder;
  if (!f.vae_encoder_bf16.empty()) meta["vae_encoder_bf16"] = f.vae_encoder_bf16;
  if (!f.vae_weights.empty()) meta["vae_weights"] = f.vae_weights;
  if (!f.refined_for.empty()) meta["refined_for"] = f.refined_for;
  if (f.refine_steps > 0) {
    meta["refine_steps"] = std::to_string(f.refine_steps);
    meta["refine_lr"] = std::to_string(f.refine_lr);
    meta["refine_chunk"] = std::to_string(f.refine_plan.chunk_latents);
    meta["refine_lookahead"] = f.refine_plan.lookahead ? "true" : "false";
  }
  save_safetensors(path, {{"latent", f.latent.contiguous()}}, meta);
}

LatentFile load_latent(const std::string& path) {
  const SafeTensors file = open_latent_file(path);
  const auto format = file.metadata().find("format");
  CUBIST_CHECK(format != file.metadata().end() && format->second == kLatentFormat, path,
               ": not a Cubist latent file (expected metadata \"format\": \"", kLatentFormat,
               "\"; `cubist vae encode` writes them)");
  LatentFile f;
  try {
    f.config = VaeConfig::from_json(nlohmann::json::parse(meta_value(file, "vae_config")));
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": \"vae_config\" metadata is not valid JSON: ", e.what());
  }
  CUBIST_CHECK(file.contains("latent"), path, ": latent file has no tensor \"latent\"");
  f.latent = file.get("latent").clone();
  f.frames = file.metadata_int("frames");
  f.height = file.metadata_int("height");
  f.width = file.metadata_int("width");
  f.fps = file.metadata_number("fps");
  if (file.metadata().count("source")) f.source = file.metadata().at("source");
  if (file.metadata().count("start_frame")) f.start_frame = file.metadata_int("start_frame");
  if (file.metadata().count("caption")) f.caption = file.metadata().at("caption");
  if (file.metadata().count("vae")) f.vae = file.metadata().at("vae");
  if (file.metadata().count("vae_encoder")) f.vae_encoder = file.metadata().at("vae_encoder");
  if (file.metadata().count("vae_encoder_bf16"))
    f.vae_encoder_bf16 = file.metadata().at("vae_encoder_bf16");
  if (file.metadata().count("vae_weights")) f.vae_weights = file.metadata().at("vae_weights");
  if (file.metadata().count("refine_steps")) f.refine_steps = file.metadata_int("refine_steps");
  if (file.metadata().count("refined_for")) f.refined_for = file.metadata().at("refined_for");
  if (file.metadata().count("refine_lr"))
    f.refine_lr = static_cast<float>(file.metadata_number("refine_lr"));
  if (file.metadata().count("refine_chunk"))
    f.refine_plan.chunk_latents = file.metadata_int("refine_chunk");
  if (file.metadata().count("refine_lookahead"))
    f.refine_plan.lookahead = file.metadata().at("refine_lookahead") == "true";
  const VaeConfig& c = f.config;
  CUBIST_CHECK(f.latent.dim() == 4 && f.latent.size(0) == c.latent_channels &&
                   c.video_frames(f.latent.size(1)) >= f.frames &&
                   f.latent.size(2) * c.spatial_factor >= f.height &&
                   f.latent.size(3) * c.spatial_factor >= f.width,
               path, ": the latent ", f.latent.shape(), " cannot hold a video of ", f.frames,
               " frames of ", f.width, "x", f.height, " under ", c.summary());
  return f;
}

void check_shape_or_suggest_pad(const VaeConfig& c, int64_t frames, int64_t height, int64_t width,
                                const std::string& what) {
  try {
    c.check_video_shape(frames, height, width, what);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) +
                "; pass --pad to repeat the last frame and edge pixels up to the next shape it "
                "takes (decode crops them off again)");
  }
}

LatentFile encode_latent(const Vae& vae, const Video& v, const std::string& what,
                         const EncodeOptions& o, const RefineProgress& progress,
                         const TileProgress& encoding) {
  const VaeConfig& c = vae.config();
  if (!o.pad) check_shape_or_suggest_pad(c, v.frames, v.height, v.width, what);
  LatentFile f;
  f.config = c;
  f.frames = v.frames, f.height = v.height, f.width = v.width, f.fps = v.fps;
  const Tensor x = video_to_tensor(pad_video(v, c));
  RefinePlan plan;  // before the encoding, which may take a while on such a clip
  if (o.refine.steps > 0)
    plan = plan_refinement(c, o.refine, x.size(2), x.size(3), x.size(4), memory_budget_bytes());
  const int64_t chunk = o.chunk_frames < 0 ? 4 * c.temporal_factor() : o.chunk_frames;
  Tensor z = encode_tiled(vae, x, chunk, o.tiling, encoding);
  if (o.refine.steps > 0) z = refine_latent(vae, x, z, o.refine, progress);
  f.latent = z.squeeze(0).contiguous();
  if (o.refine.steps > 0) record_refinement(f, vae, o.refine, plan);
  return f;
}

LatentFile encode_latent_stream(const Vae& vae, VideoReader& reader, const std::string& what,
                                const EncodeOptions& o, const EncodeProgress& progress) {
  const VaeConfig& c = vae.config();
  const int64_t tf = c.temporal_factor(), sf = c.spatial_factor;
  const int64_t chunk = o.chunk_frames < 0 ? 4 * tf : o.chunk_frames;
  CUBIST_CHECK(chunk > 0 && chunk % tf == 0, what,
               ": encoding a stream takes chunks of a multiple of ", tf, " frames, got ", chunk);
  CUBIST_CHECK(o.refine.steps == 0, what,
               ": a refinement needs the whole video: use encode_latent");
  Video next = reader.read(1);
  CUBIST_CHECK(next.frames == 1, what, ": no frame to encode");
  LatentFile f;
  f.config = c;
  f.height = next.height, f.width = next.width, f.fps = next.fps;
  if (!o.pad) check_shape_or_suggest_pad(c, 1, f.height, f.width, what);  // the count: at the end
  const int64_t H = round_up(f.height, sf), W = round_up(f.width, sf);
  EncodeStream stream(vae, H, W, o.tiling);
  std::vector<Var> latents;
  // One chunk ahead of the encoder: the last chunk is known as the last before it is encoded,
  // so that it can be padded to whole latent frames.
  for (Video video = std::move(next); video.frames > 0; video = std::move(next)) {
    next = reader.read(chunk);
    f.frames += video.frames;
    int64_t T = video.frames;
    if (next.frames == 0 && f.frames > 1 && (f.frames - 1) % tf != 0) {
      if (!o.pad) check_shape_or_suggest_pad(c, f.frames, f.height, f.width, what);
      T = round_up(T, tf);
    }
    latents.push_back(Var(stream.next(video_to_tensor(pad_to(video, T, H, W)))));
    if (progress) progress(f.frames);
  }
  f.latent = concat(latents, 2).value().squeeze(0).contiguous();
  return f;
}

LatentFile encode_video_file(const Vae& vae, const std::string& path, const EncodeOptions& o,
                             const FileEncodeProgress& progress, const RefineProgress& refining) {
  const VaeConfig& c = vae.config();
  const VideoInfo info = probe_video(path);
  if (!o.pad) check_shape_or_suggest_pad(c, info.frames, info.height, info.width, path);
  const int64_t T = 1 + round_up(std::max<int64_t>(info.frames, 1) - 1, c.temporal_factor());
  const int64_t H = round_up(info.height, c.spatial_factor);
  const int64_t W = round_up(info.width, c.spatial_factor);
  const bool refine = o.refine.steps > 0;
  // Refused before the encoding if it cannot fit; the whole clip's refinement needs it whole.
  const bool whole =
      refine && plan_refinement(c, o.refine, T, H, W, memory_budget_bytes()).chunk_latents == 0;
  if (whole || !stream_in_chunks(info.frames, info.height, info.width, o.tiling)) {
    // Tile by tile: the frames encoded over every tile, told as a share of the video's.
    const auto encoding = [&](int64_t done, int64_t total) {
      if (progress) progress(done * info.frames / total, info.frames);
    };
    LatentFile f = encode_latent(vae, read_video(path), path, o, refining, encoding);
    if (progress) progress(f.frames, info.frames);
    return f;
  }
  EncodeOptions mean = o;
  mean.refine = {};
  VideoReader reader(path);
  LatentFile f = encode_latent_stream(vae, reader, path, mean, [&](int64_t frames) {
    if (progress) progress(frames, info.frames);
  });
  if (!refine) return f;
  // The plan of the latent as read: a header's frame count may be off.
  const int64_t n = f.latent.size(1);
  const RefinePlan plan =
      plan_refinement(c, o.refine, c.video_frames(n), H, W, memory_budget_bytes());
  FileFrames frames(path, H, W);
  f.latent = refine_latent(vae, std::ref(frames), f.latent.unsqueeze(0), o.refine, refining)
                 .squeeze(0)
                 .contiguous();
  record_refinement(f, vae, o.refine, plan);
  return f;
}

Video pad_video(const Video& v, const VaeConfig& c) {
  const int64_t tf = c.temporal_factor(), sf = c.spatial_factor;
  return pad_to(v, 1 + round_up(v.frames - 1, tf), round_up(v.height, sf), round_up(v.width, sf));
}

Video pad_to(const Video& v, int64_t T, int64_t H, int64_t W) {
  CUBIST_CHECK(T >= v.frames && H >= v.height && W >= v.width, "pad_to: cannot pad ", v.frames, "x",
               v.height, "x", v.width, " to ", T, "x", H, "x", W);
  if (T == v.frames && H == v.height && W == v.width) return v;
  Video out(T, H, W, v.fps);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const uint8_t* src =
            v.pixel(std::min(t, v.frames - 1), std::min(y, v.height - 1), std::min(x, v.width - 1));
        std::copy_n(src, 3, out.pixel(t, y, x));
      }
  return out;
}

Video crop_video(const Video& v, int64_t frames, int64_t height, int64_t width) {
  CUBIST_CHECK(frames <= v.frames && height <= v.height && width <= v.width,
               "crop_video: cannot crop ", v.frames, "x", v.height, "x", v.width, " to ", frames,
               "x", height, "x", width);
  if (frames == v.frames && height == v.height && width == v.width) return v;
  Video out(frames, height, width, v.fps);
  for (int64_t t = 0; t < frames; ++t)
    for (int64_t y = 0; y < height; ++y)
      std::copy_n(v.pixel(t, y, 0), width * 3, out.pixel(t, y, 0));
  return out;
}

}  // namespace cubist
