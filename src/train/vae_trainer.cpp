#include "train/vae_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/rng.h"
#include "core/strings.h"
#include "data/clip_cut.h"
#include "data/manifest.h"
#include "data/shapes_dataset.h"
#include "data/shapes_raster.h"
#include "io/json_field.h"
#include "io/output_folder.h"
#include "io/plot.h"
#include "io/safetensors.h"
#include "io/text_file.h"
#include "models/vae/vae.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/process_group.h"

namespace cubist {

namespace fs = std::filesystem;

namespace {

class ShapesSource : public ClipSource {
 public:
  ShapesSource(uint64_t seed, const std::string& sizes, const std::string& frames)
      : seed_(seed),
        sizes_(shapes::parse_sizes(sizes)),
        frames_(shapes::parse_frame_counts(frames)),
        text_(sizes + " x " + frames) {}
  Video clip(uint64_t index) const override {
    return shapes::render(shapes::make_clip(seed_, index, sizes_, frames_).scene);
  }
  double pixels(uint64_t index) const override {
    const shapes::ClipExtent e = shapes::clip_extent(seed_, index, sizes_, frames_);
    return static_cast<double>(e.frames) * e.size.width * e.size.height;
  }
  std::string describe() const override {
    return "Shapes World (seed " + std::to_string(seed_) + ", " + text_ + " frames)";
  }

 private:
  uint64_t seed_;
  std::vector<shapes::ClipSize> sizes_;
  std::vector<int> frames_;
  std::string text_;
};

class ManifestSource : public ClipSource {
 public:
  ManifestSource(const std::string& manifest, const VaeConfig& model, const VaeTrainConfig& train)
      : path_(manifest),
        entries_(read_manifest(manifest)),
        seed_(train.seed),
        tf_(model.temporal_factor()),
        sf_(model.spatial_factor),
        max_side_(train.max_side),
        read_{.max_side = train.read_max_side, .fps = train.read_fps} {
    CUBIST_CHECK(!entries_.empty(), manifest, ": the manifest lists no clips");
    CUBIST_CHECK(max_side_ >= sf_, "vae train: max_side ", max_side_,
                 " is smaller than the spatial factor ", sf_);
    for (int f : shapes::parse_frame_counts(train.frames)) max_frames_ = std::max(max_frames_, f);
  }
  // From the manifest's frames, width and height (`cubist data index` writes them); an entry
  // without them counts as the largest clip a step can take.
  double pixels(uint64_t index) const override {
    Generator g(seed_, index);
    const ManifestEntry& e = entries_[g.randint(entries_.size())];
    const std::optional<Extent> listed = listed_extent(e);
    const Window w = listed ? clip_size(*listed) : clip_size({max_frames_, max_side_, max_side_});
    return static_cast<double>(w.t) * static_cast<double>(w.h) * static_cast<double>(w.w);
  }
  // The window is drawn from the manifest's frames and size when it has them (the header's when
  // not), and only the frames up to its end are decoded, from the key frame before it on where it
  // lies far in, the ones before it dropped unconverted (VideoReadOptions::start_frame): a long
  // video is neither decoded from its start to its end nor held whole for a short clip. Should
  // the video hold fewer frames than that says, it is read whole and the window drawn from what
  // it holds, as before.
  Video clip(uint64_t index) const override {
    Generator g(seed_, index);
    const ManifestEntry& e = entries_[g.randint(entries_.size())];
    const Extent x = extent_of(e);
    VideoReadOptions opt;
    opt.threads = 1;
    opt.fps = read_.fps;
    opt.height = x.read_height, opt.width = x.read_width;
    Generator whole = g;  // the draws of the fallback, the same as the window's
    if (x.frames >= 1) {
      const Window w = draw_window(e, x, g);
      opt.start_frame = w.t0, opt.max_frames = w.t;
      const Video v = read_video(e.path, opt);
      if (v.frames == w.t && v.height == x.height && v.width == x.width) return crop(v, w, 0);
    }
    opt.start_frame = 0, opt.max_frames = 0;
    const Video v = read_video(e.path, opt);
    const Window w = draw_window(e, {v.frames, v.height, v.width, 0, 0}, whole);
    return crop(v, w, w.t0);
  }
  std::string describe() const override {
    const std::string read = read_.reading();
    return path_ + " (" + std::to_string(entries_.size()) + " clips" +
           (read.empty() ? "" : "; read with " + read) + ")";
  }

 private:
  struct Extent {
    int64_t frames = 0, height = 0, width = 0;  // as read
    int64_t read_height = 0, read_width = 0;    // the size asked of the reader; 0: native
  };
  struct Window {
    int64_t t, h, w, t0, y0, x0;
  };

  // A video's frames and size as read, from the manifest (`cubist data index` writes them).
  std::optional<Extent> listed_extent(const ManifestEntry& e) const {
    const int64_t frames = listed_frames(e, read_);
    if (frames < 1 || e.width < 1 || e.height < 1) return std::nullopt;
    return as_read(e, frames, e.height, e.width);
  }
  // The manifest's extent, else the video header's.
  Extent extent_of(const ManifestEntry& e) const {
    if (const std::optional<Extent> listed = listed_extent(e)) return *listed;
    const VideoInfo info = probe_video(e.path);
    return as_read(e, frames_at_rate(info.frames, info.duration, read_), info.height, info.width);
  }
  // A video of `frames` (as read) and h x w as the reader hands it over.
  Extent as_read(const ManifestEntry& e, int64_t frames, int64_t h, int64_t w) const {
    if (read_.max_side <= 0) return {frames, h, w, 0, 0};
    const CutSize s = cut_size(read_, sf_, h, w, e.path);
    const int64_t rh = s.read_height > 0 ? s.read_height : h;
    const int64_t rw = s.read_width > 0 ? s.read_width : w;
    return {frames, rh, rw, s.read_height, s.read_width};
  }

  // The size of a clip of a video of extent x (its place left at 0): the longest allowed
  // length, sides cropped to multiples of the spatial factor and at most max_side.
  Window clip_size(const Extent& x) const {
    const int64_t side = max_side_ - max_side_ % sf_;
    return {1 + (std::min<int64_t>(x.frames, max_frames_) - 1) / tf_ * tf_,
            std::min(x.height - x.height % sf_, side),
            std::min(x.width - x.width % sf_, side),
            0,
            0,
            0};
  }

  // The clip's window of a video of extent x: clip_size at a random place.
  Window draw_window(const ManifestEntry& e, const Extent& x, Generator& g) const {
    Window w = clip_size(x);
    CUBIST_CHECK(w.h >= sf_ && w.w >= sf_, e.path, ": frames of ", x.width, "x", x.height,
                 " are smaller than the autoencoder's spatial factor ", sf_);
    w.t0 = g.randint(static_cast<uint64_t>(x.frames - w.t + 1));
    w.y0 = g.randint(static_cast<uint64_t>(x.height - w.h + 1));
    w.x0 = g.randint(static_cast<uint64_t>(x.width - w.w + 1));
    return w;
  }

  // Window w of v, whose frame `first` is the window's first.
  static Video crop(const Video& v, const Window& w, int64_t first) {
    Video out(w.t, w.h, w.w, v.fps);
    for (int64_t f = 0; f < w.t; ++f)
      for (int64_t y = 0; y < w.h; ++y)
        std::copy_n(v.pixel(first + f, w.y0 + y, w.x0), w.w * 3, out.pixel(f, y, 0));
    return out;
  }

  std::string path_;
  std::vector<ManifestEntry> entries_;
  uint64_t seed_;
  int64_t tf_, sf_, max_side_;
  ClipCut read_;  // how videos are read before windows are cut (no clip_frames)
  int max_frames_ = 1;
};

struct StepLoss {
  double loss = 0, mse = 0, kl = 0;
  int64_t frames = 0;
};

// The posterior of x; with a frozen encoder nothing is recorded, so the backward pass stops at
// the latents and no encoder gradient is computed.
Posterior encode_for_training(const Vae& vae, const Var& x, bool freeze_encoder) {
  if (!freeze_encoder) return vae.encode(x);
  NoGrad no_grad;
  return vae.encode(x);
}

// One clip: forward, loss, backward (gradients accumulate, scaled by 1 / batch).
StepLoss clip_step(const Vae& vae, const Video& clip, const VaeTrainConfig& tc, Generator noise) {
  const Var x(video_to_tensor(clip));
  const Posterior p = encode_for_training(vae, x, tc.freeze_encoder);
  Tensor eps = Tensor::empty(p.mean.shape());
  noise.normal_(eps);
  const Var mse = mse_loss(vae.decode(sample_posterior(p.mean, p.logvar, eps)), x);
  const Var kl = kl_divergence(p.mean, p.logvar);
  const Var loss = add(mse, scale(kl, tc.kl_weight));
  scale(loss, 1.0f / static_cast<float>(tc.batch)).backward();
  return {loss.item(), mse.item(), kl.item(), clip.frames};
}

std::map<std::string, std::string> run_metadata(const VaeTrainOptions& o, int64_t step,
                                                double elapsed, const std::string& data) {
  std::map<std::string, std::string> meta = vae_metadata(o.model);
  meta["elapsed_s"] = std::to_string(elapsed);
  meta["train_config"] = o.train.to_json().dump();
  meta["step"] = std::to_string(step);
  meta["data"] = data;
  return meta;
}

void write_plot(const std::string& dir) {
  const std::string log = dir + "/log.csv";
  Series loss{"training loss", MetricsLog::read_column(log, "step"),
              MetricsLog::read_column(log, "loss")};
  Series val{"held-out MSE (from PSNR)", {}, {}};
  const std::vector<double> vp = MetricsLog::read_column(log, "val_psnr");
  for (size_t i = 0; i < vp.size(); ++i)
    if (vp[i] > 0) {
      val.x.push_back(loss.x[i]);
      val.y.push_back(4.0 * std::pow(10.0, -vp[i] / 10.0));  // [-1, 1] MSE, comparable to loss
    }
  write_svg_plot(dir + "/loss.svg", "VAE training", "step", {loss, val}, true);
}

// A run resumes with the parts it started with: the optimizer's moments are those parts'.
void check_same_parts(const SafeTensors& file, const VaeTrainConfig& tc, const std::string& path) {
  const auto it = file.metadata().find("train_config");
  if (it == file.metadata().end()) return;
  const nlohmann::json saved = nlohmann::json::parse(it->second, nullptr, false);
  const bool frozen = saved.is_object() && saved.value("freeze_encoder", false);
  CUBIST_CHECK(frozen == tc.freeze_encoder, path, ": this run was started with freeze_encoder ",
               frozen ? "true" : "false", " and is asked to resume with ",
               tc.freeze_encoder ? "true" : "false",
               "; resume it with its own setting, or start a new run in another --out with "
               "train.init naming this run's vae.safetensors");
}

// Fine-tuning's starting weights: a Cubist VAE file of the same model config (opened and
// checked before the run's folder is made).
SafeTensors open_init(const std::string& path, const VaeConfig& model) {
  CUBIST_CHECK(fs::exists(path), "vae train: train.init ", path,
               " does not exist (the weights to fine-tune: a vae.safetensors or a checkpoint)");
  SafeTensors file = SafeTensors::open(path);
  const VaeConfig saved = read_vae_config(file);
  CUBIST_CHECK(saved == model, path, ": train.init holds an autoencoder of another config (",
               saved.to_json().dump(), ", this run asks for ", model.to_json().dump(),
               "); give the init's model config");
  return file;
}

}  // namespace

VaeTrainConfig VaeTrainConfig::from_json(const nlohmann::json& root) {
  const bool sectioned = root.is_object() && (root.contains("model") || root.contains("train"));
  if (sectioned)  // a misspelt "train" would otherwise train on the defaults, silently
    for (const auto& [key, value] : root.items())
      CUBIST_CHECK(key == "model" || key == "train", "vae train config: unknown section \"", key,
                   "\" (accepted: model, train)");
  const nlohmann::json j = sectioned ? root.value("train", nlohmann::json::object()) : root;
  CUBIST_CHECK(j.is_object(), "vae train config: expected a JSON object, got ", j.dump());
  static const std::vector<std::string> kKeys = {
      "steps",          "batch",          "lr",
      "min_lr_ratio",   "warmup",         "weight_decay",
      "clip_grad",      "kl_weight",      "sizes",
      "frames",         "seed",           "checkpoint_every",
      "eval_every",     "eval_clips",     "max_side",
      "init",           "freeze_encoder", "shard_optimizer",
      "balance_shares", "read_max_side",  "read_fps"};
  std::vector<std::string> p;
  check_known_keys(j, kKeys, "", p);
  VaeTrainConfig c;
  read_json_field(j, "steps", c.steps, p);
  read_json_field(j, "batch", c.batch, p);
  read_json_field(j, "lr", c.lr, p);
  read_json_field(j, "min_lr_ratio", c.min_lr_ratio, p);
  read_json_field(j, "warmup", c.warmup, p);
  read_json_field(j, "weight_decay", c.weight_decay, p);
  read_json_field(j, "clip_grad", c.clip_grad, p);
  read_json_field(j, "kl_weight", c.kl_weight, p);
  read_json_field(j, "sizes", c.sizes, p);
  read_json_field(j, "frames", c.frames, p);
  read_json_field(j, "seed", c.seed, p);
  read_json_field(j, "checkpoint_every", c.checkpoint_every, p);
  read_json_field(j, "eval_every", c.eval_every, p);
  read_json_field(j, "eval_clips", c.eval_clips, p);
  read_json_field(j, "max_side", c.max_side, p);
  read_json_field(j, "init", c.init, p);
  read_json_field(j, "freeze_encoder", c.freeze_encoder, p);
  read_json_field(j, "shard_optimizer", c.shard_optimizer, p);
  read_json_field(j, "balance_shares", c.balance_shares, p);
  read_json_field(j, "read_max_side", c.read_max_side, p);
  read_json_field(j, "read_fps", c.read_fps, p);
  if (c.read_max_side < 0 || !(c.read_fps >= 0) || !std::isfinite(c.read_fps))
    p.push_back("read_max_side and read_fps must be >= 0 (0: the native size and rate)");
  if (c.steps < 1) p.push_back("steps must be >= 1");
  if (c.batch < 1) p.push_back("batch must be >= 1");
  if (!(c.lr > 0)) p.push_back("lr must be > 0");
  if (c.warmup < 0) p.push_back("warmup must be >= 0");
  if (c.checkpoint_every < 1) p.push_back("checkpoint_every must be >= 1");
  if (c.eval_every < 0 || c.eval_clips < 0) p.push_back("eval_every and eval_clips must be >= 0");
  if (p.empty()) {
    try {
      shapes::parse_sizes(c.sizes);
      shapes::parse_frame_counts(c.frames);
    } catch (const Error& e) {
      p.push_back(e.what());
    }
  }
  if (!p.empty()) {
    std::ostringstream os;
    os << "vae train config: ";
    for (size_t i = 0; i < p.size(); ++i) os << (i ? "; " : "") << p[i];
    fail(os.str());
  }
  return c;
}

nlohmann::ordered_json VaeTrainConfig::to_json() const {
  nlohmann::ordered_json j;
  j["steps"] = steps;
  j["batch"] = batch;
  j["lr"] = lr;
  j["min_lr_ratio"] = min_lr_ratio;
  j["warmup"] = warmup;
  j["weight_decay"] = weight_decay;
  j["clip_grad"] = clip_grad;
  j["kl_weight"] = kl_weight;
  j["sizes"] = sizes;
  j["frames"] = frames;
  j["seed"] = seed;
  j["checkpoint_every"] = checkpoint_every;
  j["eval_every"] = eval_every;
  j["eval_clips"] = eval_clips;
  j["max_side"] = max_side;
  if (!init.empty()) j["init"] = init;
  j["freeze_encoder"] = freeze_encoder;
  j["shard_optimizer"] = shard_optimizer;
  j["balance_shares"] = balance_shares;
  if (read_max_side > 0) j["read_max_side"] = read_max_side;
  if (read_fps > 0) j["read_fps"] = read_fps;
  return j;
}

std::unique_ptr<ClipSource> shapes_clip_source(uint64_t seed, const std::string& sizes,
                                               const std::string& frames) {
  return std::make_unique<ShapesSource>(seed, sizes, frames);
}

std::unique_ptr<ClipSource> manifest_clip_source(const std::string& manifest,
                                                 const VaeConfig& model,
                                                 const VaeTrainConfig& train) {
  return std::make_unique<ManifestSource>(manifest, model, train);
}

double reconstruction_psnr(const Vae& vae, const ClipSource& source, int64_t clips) {
  double total = 0;
  for (int64_t i = 0; i < clips; ++i) {
    const Video v = source.clip(static_cast<uint64_t>(i));
    const Tensor z = vae.encode_mean(video_to_tensor(v));
    total += psnr(v, tensor_to_video(vae.decode_chunked(z, 4), v.fps));
  }
  return clips ? total / static_cast<double>(clips) : 0.0;
}

VaeTrainResult train_vae(const VaeTrainOptions& o, const VaeTrainCallback& on_step) {
  o.model.validate();
  const VaeTrainConfig& tc = o.train;
  SingleProcess alone;
  ProcessGroup& group = o.group ? *o.group : alone;
  const bool writer = group.rank() == 0;  // writes the folder, evaluates and calls back
  CUBIST_CHECK(!o.out_dir.empty(), "vae train: no output folder given");
  CUBIST_CHECK(tc.batch >= group.size(), "vae train: ", group.size(),
               " processes share each step's clips, so train.batch must be at least ", group.size(),
               " (it is ", tc.batch,
               "); start fewer processes or raise train.batch in the config (--config FILE)");
  const std::string ckpt = o.out_dir + "/checkpoint.safetensors";
  const std::string weights = o.out_dir + "/vae.safetensors";
  std::optional<SafeTensors> init_file;  // a checkpoint in the folder resumes instead
  if (!tc.init.empty() && !fs::exists(ckpt)) init_file = open_init(tc.init, o.model);
  std::optional<OutputFolder> folder;
  if (writer) folder.emplace(o.out_dir);

  if (o.manifest.empty())  // every Shapes World clip size and length must suit the model
    for (const shapes::ClipSize& size : shapes::parse_sizes(tc.sizes))
      for (int f : shapes::parse_frame_counts(tc.frames))
        o.model.check_video_shape(f, size.height, size.width, "vae train (sizes and frames)");
  const std::unique_ptr<ClipSource> data = o.manifest.empty()
                                               ? shapes_clip_source(tc.seed, tc.sizes, tc.frames)
                                               : manifest_clip_source(o.manifest, o.model, tc);
  // Held out: Shapes World under another seed; for a manifest, other draws from it, or from
  // the held-out videos.
  VaeTrainConfig other_draws = tc;
  other_draws.seed = tc.seed + 1000003;
  const std::string& held_videos = o.held_out.empty() ? o.manifest : o.held_out;
  const std::unique_ptr<ClipSource> held_out =
      o.manifest.empty() ? shapes_clip_source(other_draws.seed, tc.sizes, tc.frames)
                         : manifest_clip_source(held_videos, o.model, other_draws);

  Generator init(tc.seed, /*stream=*/0);
  Vae vae(o.model, init);
  AdamWConfig ac;
  ac.lr = tc.lr;
  ac.weight_decay = tc.weight_decay;
  AdamW opt(tc.freeze_encoder ? vae.decoder_parameters() : vae.parameters(), ac);
  if (tc.shard_optimizer) opt.shard(group);  // before load: each process reads its moments
  // Clip i's posterior noise comes from substream i, so a batch split over processes draws as it
  // would whole.
  const Generator noise(tc.seed, /*stream=*/1);

  VaeTrainResult result;
  double elapsed = 0;  // seconds spent in training steps and evaluations, over all sessions
  if (fs::exists(ckpt)) {
    const SafeTensors file = SafeTensors::open(ckpt);
    const VaeConfig saved = read_vae_config(file);
    CUBIST_CHECK(saved == o.model, ckpt, ": this folder holds a run of another model config (",
                 saved.to_json().dump(), ", this run asks for ", o.model.to_json().dump(),
                 "); give another --out or the same config");
    check_same_parts(file, tc, ckpt);
    vae.load_state_dict(file);
    result.start_step = file.metadata_int("step");
    opt.load_state(file, result.start_step);
    elapsed = file.metadata_number("elapsed_s", 0);
    if (result.start_step >= tc.steps) {  // past the steps asked: its files stay as they are
      result.end_step = result.start_step;
      result.finished = true;
      return result;
    }
  } else if (init_file) {
    vae.load_state_dict(*init_file);
  }
  CUBIST_CHECK(same_weights(vae.parameters(), group), "vae train: the ", group.size(),
               " processes start from different weights: every process must see the same files "
               "at the same paths");
  std::optional<MetricsLog> log;
  if (writer) {
    log.emplace(o.out_dir + "/log.csv",
                std::vector<std::string>{"step", "loss", "mse", "kl", "psnr", "lr", "grad_norm",
                                         "clips_per_s", "val_psnr", "elapsed_s"},
                result.start_step + 1);
    nlohmann::ordered_json j;
    j["model"] = o.model.to_json();
    j["train"] = tc.to_json();
    write_text_file(o.out_dir + "/config.json", j.dump(2) + "\n");
  }

  auto save = [&](int64_t step) {
    CUBIST_CHECK(same_weights(vae.parameters(), group), "vae train: at step ", step, " the ",
                 group.size(),
                 " processes hold different weights, so their steps went differently; the last "
                 "checkpoint is kept");
    const auto meta = run_metadata(o, step, elapsed, data->describe());
    save_checkpoint(ckpt, vae.state_dict(), opt, meta, writer);  // every process: see adamw.h
    if (!writer) return;
    save_safetensors(weights, vae.state_dict(), meta);
    write_plot(o.out_dir);
  };

  int64_t step = result.start_step;
  int64_t run_steps = 0;
  while (step < tc.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    const float lr = LrSchedule{tc.lr, tc.warmup, tc.steps, tc.min_lr_ratio}.at(step);
    opt.zero_grad();
    // Each clip's loss is scaled by 1 / batch before its backward pass, so the processes'
    // gradients and losses add up to the whole batch's.
    double total[4] = {0, 0, 0, 0};  // loss, mse, kl, frames
    // This process's clips, dealt by their pixels, which the autoencoder's work is about
    // proportional to (clips_of_process).
    const auto pixels = [&](int64_t j) {
      return data->pixels(static_cast<uint64_t>(step * tc.batch + j));
    };
    for (const int64_t j : clips_of_process(tc.batch, tc.balance_shares, pixels, group)) {
      const uint64_t index = static_cast<uint64_t>(step * tc.batch + j);
      const StepLoss s = clip_step(vae, data->clip(index), tc, noise.substream(index));
      total[0] += s.loss / tc.batch, total[1] += s.mse / tc.batch;
      total[2] += s.kl / tc.batch, total[3] += static_cast<double>(s.frames);
    }
    if (group.size() > 1) {
      group.all_reduce_sum(total, 4);
      sum_gradients(opt.params(), 1.0f, group);
    }
    const float grad_norm = clip_grad_norm(opt.params(), tc.clip_grad);
    opt.step(lr);
    ++step, ++run_steps;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    VaeTrainStatus st;
    st.step = step, st.steps = tc.steps;
    st.loss = total[0], st.mse = total[1], st.kl = total[2], st.psnr = psnr_of_mse(total[1]);
    st.lr = lr, st.grad_norm = grad_norm;
    st.clips_per_s = static_cast<double>(tc.batch) / dt;
    st.frames_per_s = total[3] / dt;
    if (writer && tc.eval_every > 0 && (step % tc.eval_every == 0 || step == tc.steps)) {
      st.val_psnr = reconstruction_psnr(vae, *held_out, tc.eval_clips);
      result.last_val_psnr = st.val_psnr;
    }
    elapsed += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.elapsed_s = elapsed;
    if (log)
      log->write({static_cast<double>(step), st.loss, st.mse, st.kl, st.psnr, lr, grad_norm,
                  st.clips_per_s, st.val_psnr, elapsed});
    // A signal may reach the processes at different steps: they stop together.
    double stop_votes =
        (o.stop_after > 0 && run_steps >= o.stop_after) || (o.stop && o.stop->load());
    group.all_reduce_sum(&stop_votes, 1);
    const bool stopping = stop_votes > 0;
    if (step % tc.checkpoint_every == 0 || step == tc.steps || stopping) {
      save(step);
      if (writer) st.checkpoint = ckpt;
    }
    if (writer && on_step) on_step(st);
    if (stopping) break;
  }
  result.end_step = step;
  result.finished = step >= tc.steps;
  return result;
}

}  // namespace cubist
