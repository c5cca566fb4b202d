#include "train/dit_run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "core/strings.h"
#include "data/manifest.h"
#include "diffusion/video_sampling.h"
#include "io/json_field.h"
#include "io/output_folder.h"
#include "io/plot.h"
#include "io/text_file.h"
#include "models/model_files.h"
#include "models/vae/latent_io.h"
#include "train/dit_trainer.h"
#include "train/metrics_log.h"

namespace cubist {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr uint64_t kDataStream = 0x64617461;          // "data"
constexpr uint64_t kValidationStream = 0x76616c6964;  // "valid"

const std::vector<std::string> kTopKeys = {"model", "train", "data"};
const std::vector<std::string> kTrainKeys = {"steps",
                                             "batch",
                                             "accumulate",
                                             "lr",
                                             "warmup",
                                             "min_lr_ratio",
                                             "weight_decay",
                                             "grad_clip",
                                             "ema",
                                             "seed",
                                             "checkpoint_every",
                                             "sample_every",
                                             "sample_prompts",
                                             "sample_size",
                                             "sample_frames",
                                             "sample_steps",
                                             "sample_guidance",
                                             "validate_every",
                                             "validation_clips",
                                             "out",
                                             "init",
                                             "shard_optimizer",
                                             "balance_shares"};
const std::vector<std::string> kDataKeys = {"latents",     "manifest", "vae", "validation",
                                            "clip_frames", "max_side", "fps"};

// Reads j[key] into out, recording a wrong type as "train.key has the wrong type".
template <typename T>
void field(const Json& j, const char* key, T& out, const std::string& section,
           std::vector<std::string>& problems) {
  std::vector<std::string> p;
  read_json_field(j, key, out, p);
  for (const std::string& s : p) problems.push_back(section + s);
}

std::string absolute_path(const std::string& p) {
  return p.empty() ? p : fs::absolute(fs::path(p)).lexically_normal().string();
}

// "96x64" -> {96, 64}; nullopt for anything else.
std::optional<std::pair<int64_t, int64_t>> parse_wxh(const std::string& text) {
  long long w = 0, h = 0;
  char end = 0;
  if (std::sscanf(text.c_str(), "%lldx%lld%c", &w, &h, &end) != 2 || w < 1 || h < 1)
    return std::nullopt;
  return std::pair<int64_t, int64_t>{w, h};
}

// The patches of a latent of `shape` [C, T, H, W] cropped to whole patches, as it trains (the
// cache holds latents of any size).
PatchGrid whole_patches(const Dims& shape, PatchSize p) {
  return {shape[1] / p.t, shape[2] / p.h, shape[3] / p.w};
}

// The latent cropped to whole_patches.
Tensor fit_to_patch(const Tensor& z, PatchSize p, const std::string& what) {
  const PatchGrid g = whole_patches(z.shape(), p);
  const int64_t t = g.t * p.t, h = g.h * p.h, w = g.w * p.w;
  CUBIST_CHECK(t > 0 && h > 0 && w > 0, what, ": the latent ", z.shape(),
               " is smaller than one patch (", p.t, "x", p.h, "x", p.w, ")");
  if (t == z.size(1) && h == z.size(2) && w == z.size(3)) return z;
  return z.slice(1, 0, t).slice(2, 0, h).slice(3, 0, w).contiguous();
}

// Throws unless every latent has the channels the model takes.
void check_channels(const std::vector<LatentEntry>& entries, const DiTConfig& model) {
  const int64_t c = model.latent_channels;
  for (const LatentEntry& e : entries)
    CUBIST_CHECK(e.shape.size() == 4 && e.shape[0] == c, e.latent, ": a latent of shape ", e.shape,
                 " but the DiT config takes [", c, ", T, H, W] (latent_channels = ", c,
                 ", which must equal the autoencoder's)");
}

struct RunData {
  std::vector<std::string> latents;  // the latent manifests
  std::string validation;            // held-out clips: a latent manifest, or ""
  std::vector<LatentEntry> entries;
  int64_t cache_failed = 0;
  bool stopped = false;  // asked to stop while encoding
};

// The encoder that made a manifest's latents, as its first latent file records it.
struct LatentSource {
  VaeConfig config;
  std::string encoder;       // the encoder's fingerprint ("" in files from before fingerprints)
  std::string encoder_bf16;  // the same at bf16 ("" in files from before it)
};
LatentSource latent_source(const LatentEntry& e) {
  const LatentFile f = load_latent(e.latent);
  return {f.config, f.vae_encoder, f.vae_encoder_bf16};
}

// Several manifests train together only when one encoder made them all: latents of another
// encoder are another space, and the normalization and the model would mix the two.
void check_same_encoder(const std::string& first, const LatentSource& a, const std::string& other,
                        const LatentSource& b) {
  CUBIST_CHECK(a.config == b.config, "data.latents: ", other,
               " holds latents of another autoencoder (", b.config.summary(), ") than ", first,
               " (", a.config.summary(), "); a run trains on the latents of one autoencoder");
  CUBIST_CHECK(a.encoder.empty() || b.encoder.empty() || a.encoder == b.encoder,
               "data.latents: ", other, " was encoded by other encoder weights (", b.encoder,
               ") than ", first, " (", a.encoder,
               "); a run trains on the latents of one encoder: cache both with the same "
               "autoencoder");
}

// Videos of `manifest` cached into out/`folder` by the autoencoder at vae_path under `cut`, by
// one process while the others wait: the latent manifest, and whether it was stopped and how
// many videos failed.
struct Cached {
  std::string latents;
  bool stopped = false;
  int64_t failed = 0;
};
Cached cache_videos(const DiTRunOptions& o, ProcessGroup& group, const std::string& manifest,
                    const std::string& folder, const std::string& vae_path, const ClipCut& cut) {
  const std::string cache_dir = (fs::path(o.out_dir) / folder).string();
  double outcome[2] = {0, 0};  // stopped, failed
  if (group.rank() == 0) {
    const auto vae = load_vae(vae_path);
    cut.check(vae->config(), "data");
    const CacheOptions cache{.cut = cut, .pad = !cut.cuts()};
    const CacheResult c =
        cache_latents(*vae, vae_path, manifest, cache_dir, cache, o.on_cache, o.stop);
    outcome[0] = c.stopped, outcome[1] = static_cast<double>(c.failed);
  }
  group.all_reduce_sum(outcome, 2);
  return {(fs::path(cache_dir) / "latents.jsonl").string(), outcome[0] > 0,
          static_cast<int64_t>(outcome[1])};
}

// A sentencepiece tokenizer is trained on the captions, so a new run on a manifest none of whose
// videos has one is refused before its videos are encoded, which can take hours, rather than
// after.
void check_captions_before_caching(const DiTRunOptions& o, const std::string& manifest) {
  const bool keeps_one =
      fs::exists(o.out_dir + "/checkpoint.safetensors") || !o.config.train.init.empty();
  if (o.config.model.tokenizer != "sentencepiece" || keeps_one) return;
  const std::vector<ManifestEntry> videos = read_manifest(manifest);
  const bool captioned = std::any_of(videos.begin(), videos.end(), [](const ManifestEntry& e) {
    return !text::split_words(e.caption).empty();
  });
  CUBIST_CHECK(captioned, "train: model.text.tokenizer is \"sentencepiece\", a tokenizer trained ",
               "on the captions, but no video of ", manifest,
               " has a caption; give them captions (`cubist data index DIR --captions FILE`), "
               "or set text.tokenizer to \"word\" to train a model on uncaptioned videos");
}

// The latent clips to train on: data.latents (every manifest's clips, in the order listed), or
// data.manifest encoded into out/cache; and data.validation, held-out videos encoded into
// out/cache_validation by the same autoencoder and cut as the training clips.
RunData prepare_data(const DiTRunOptions& o, ProcessGroup& group) {
  const DiTDataConfig& d = o.config.data;
  RunData r;
  r.latents = d.latents;
  r.validation = d.validation;
  if (!d.manifest.empty()) {
    check_captions_before_caching(o, d.manifest);
    const std::string vae_path =
        d.vae.empty() ? find_model_file(kVaeFile, "",
                                        "give data.vae, the autoencoder that encodes the "
                                        "manifest's videos (`cubist vae train` makes one)")
                      : d.vae;
    const Cached c = cache_videos(o, group, d.manifest, "cache", vae_path, d.cut);
    r.latents = {c.latents};
    r.cache_failed = c.failed;
    if ((r.stopped = c.stopped)) return r;
  }
  std::optional<LatentSource> first;  // of the first manifest, when there are several
  for (const std::string& m : r.latents) {
    std::vector<LatentEntry> e = read_latent_manifest(m);
    CUBIST_CHECK(!e.empty(), m, ": no clips to train on");
    if (r.latents.size() > 1) {
      const LatentSource here = latent_source(e.front());
      if (first)
        check_same_encoder(r.latents.front(), *first, m, here);
      else
        first = here;
    }
    r.entries.insert(r.entries.end(), std::make_move_iterator(e.begin()),
                     std::make_move_iterator(e.end()));
  }
  check_channels(r.entries, o.config.model);
  if (!d.validation.empty() && lists_videos(d.validation)) {  // held-out videos
    const std::string vae_path = encoder_of(r.entries.front().latent);
    CUBIST_CHECK(!vae_path.empty(), d.validation,
                 ": held-out videos are encoded by the autoencoder of the training latents, but ",
                 r.entries.front().latent,
                 " does not record one that is there with the encoder that made it; cache them "
                 "with `cubist vae cache` and give data.validation its latents.jsonl");
    const ClipCut cut = d.manifest.empty() ? cut_of_cache(r.latents.front()) : d.cut;
    const Cached c = cache_videos(o, group, d.validation, "cache_validation", vae_path, cut);
    r.validation = c.latents;
    if ((r.stopped = c.stopped)) return r;
  }
  return r;
}

// The autoencoder that decodes samples: data.vae, else the one that made the cache, else the
// default model's.
std::string sample_vae_path(const DiTDataConfig& d, const LatentFile& first) {
  if (!d.vae.empty()) return d.vae;
  if (!first.vae.empty()) return first.vae;
  return find_model_file(kVaeFile, "",
                         "samples are decoded by the data's autoencoder: give data.vae, or set "
                         "train.sample_every to 0 for no samples");
}

class SampleWriter {
 public:
  // `writes` false (a process other than rank 0): never due.
  SampleWriter(const DiTRunOptions& o, const std::vector<LatentEntry>& entries,
               const text::Tokenizer& tok, bool writes)
      : c_(o.config.train), dir_(fs::path(o.out_dir) / "samples") {
    if (c_.sample_every <= 0 || !writes) return;
    const LatentFile first = load_latent(entries.front().latent);
    vae_path_ = sample_vae_path(o.config.data, first);
    vae_ = load_vae(vae_path_);
    CUBIST_CHECK(vae_->config() == first.config, vae_path_, ": this autoencoder (",
                 vae_->config().summary(), ") did not make the latents (", first.config.summary(),
                 "); give data.vae the one that did");
    if (c_.sample_size.empty()) {  // the first clip's size, as it trains (cropped to the patch)
      const PatchSize p = o.config.model.patch;
      const PatchGrid g = whole_patches(entries.front().shape, p);
      const int64_t sf = vae_->config().spatial_factor;
      height_ = g.h * p.h * sf, width_ = g.w * p.w * sf;
    } else {
      std::tie(width_, height_) = parse_wxh(c_.sample_size).value();
    }
    try {
      video_latent_shape(o.config.model, vae_->config(), c_.sample_frames, width_, height_);
    } catch (const Error& e) {  // name the config's keys, not generate's options
      fail("train.sample_size and train.sample_frames (", width_, "x", height_, ", ",
           c_.sample_frames, " frames): ", e.what());
    }
    prompts_ = c_.sample_prompts;
    if (prompts_.empty())  // the first two captions of the data
      for (const LatentEntry& e : entries)
        if (prompts_.size() < 2 && !e.caption.empty() &&
            std::find(prompts_.begin(), prompts_.end(), e.caption) == prompts_.end())
          prompts_.push_back(e.caption);
    // Prompts given: unknown words or too many are an Error now; the data's captions are cut to
    // the words the model reads, as in training.
    for (const std::string& p : prompts_)
      ids_.push_back(c_.sample_prompts.empty() ? tok.encode_caption(p) : tok.encode(p));
  }

  const std::string& vae_path() const { return vae_path_; }
  bool due(int64_t step) const {
    return vae_ && !ids_.empty() && (step % c_.sample_every == 0 || step == c_.steps);
  }

  // One video: a panel per prompt, side by side, each from its own fixed seed.
  std::string write(const DiT& model, int64_t step) const {
    Video all(c_.sample_frames, height_, width_ * static_cast<int64_t>(ids_.size()));
    for (size_t i = 0; i < ids_.size(); ++i) {
      GenerateOptions g;
      g.steps = static_cast<int>(c_.sample_steps);
      g.guidance = c_.sample_guidance;
      g.seed = c_.seed + i;
      const Video v = generate_video(model, *vae_, ids_[i], c_.sample_frames, width_, height_, g);
      for (int64_t t = 0; t < v.frames; ++t)
        for (int64_t y = 0; y < v.height; ++y)
          std::copy_n(v.pixel(t, y, 0), v.width * 3,
                      all.pixel(t, y, static_cast<int64_t>(i) * width_));
    }
    char name[40];
    std::snprintf(name, sizeof name, "step_%06lld.mp4", static_cast<long long>(step));
    make_output_folder(dir_.string());
    const std::string path = (dir_ / name).string();
    std::string comment =
        "AI-generated by Cubist (training sample, step " + std::to_string(step) + "); prompts: ";
    for (size_t i = 0; i < prompts_.size(); ++i) comment += (i ? " | " : "") + prompts_[i];
    write_video(path, all, {.metadata = {{"comment", comment}}});
    return path;
  }

 private:
  const DiTRunConfig& c_;
  fs::path dir_;
  std::string vae_path_;
  std::unique_ptr<Vae> vae_;
  std::vector<std::string> prompts_;
  std::vector<std::vector<int32_t>> ids_;
  int64_t width_ = 0, height_ = 0;
};

struct Batch {
  std::vector<Tensor> latents;
  std::vector<std::string> captions;

  // Clip e's latent, cropped to the patch, and its caption.
  void add(const LatentEntry& e, PatchSize patch) {
    latents.push_back(fit_to_patch(load_latent(e.latent).latent, patch, e.latent));
    captions.push_back(e.caption);
  }
};

// The held-out clips of data.validation: its first validation_clips.
Batch load_validation_clips(const DiTRunOptions& o) {
  const std::string& path = o.config.data.validation;
  std::vector<LatentEntry> entries = read_latent_manifest(path);
  CUBIST_CHECK(!entries.empty(), path, ": no held-out clips to validate on");
  check_channels(entries, o.config.model);
  entries.resize(std::min(entries.size(), static_cast<size_t>(o.config.train.validation_clips)));
  Batch clips;
  for (const LatentEntry& e : entries) clips.add(e, o.config.model.patch);
  return clips;
}

// The loss of the trainer's EMA weights on the held-out clips, with the same draws (times,
// noise, dropped captions, frame masks) every time, so that steps and runs compare.
double held_out_loss(const DiTTrainer& trainer, const Batch& clips, const DiTRunConfig& c) {
  return trainer.validation_loss(clips.latents, clips.captions, c.batch,
                                 c.seed ^ kValidationStream);
}

// The held-out loss every validate_every steps, into validation.csv.
class Validator {
 public:
  Validator(const DiTRunOptions& o, int64_t start_step, bool writes) : c_(o.config.train) {
    if (o.config.data.validation.empty() || c_.validate_every == 0 || !writes) return;
    clips_ = load_validation_clips(o);
    log_ = std::make_unique<MetricsLog>(o.out_dir + "/validation.csv",
                                        std::vector<std::string>{"step", "loss"}, start_step + 1);
  }

  bool due(int64_t step) const {
    return log_ && (step % c_.validate_every == 0 || step == c_.steps);
  }
  double measure(const DiTTrainer& trainer, int64_t step) {
    const double loss = held_out_loss(trainer, clips_, c_);
    log_->write({static_cast<double>(step), loss});
    return loss;
  }

 private:
  const DiTRunConfig& c_;
  Batch clips_;
  std::unique_ptr<MetricsLog> log_;
};

// The places in step `step`'s batch of the clips this process trains on, and those clips.
struct StepShare {
  std::vector<int64_t> places;
  Batch clips;
};

// What it costs to train on a clip of `tokens` tokens, up to a factor common to all clips: a
// block's matrix products take (8 + 4 mlp_ratio) hidden^2 flops a token, its attention 4 tokens
// hidden more; divided by 4 hidden.
double training_cost(const DiTConfig& c, int64_t tokens) {
  return static_cast<double>(tokens) *
         ((2.0 + static_cast<double>(c.mlp_ratio)) * static_cast<double>(c.hidden) +
          static_cast<double>(tokens));
}

// This process's clips of step `step`, dealt by their work (clips_of_process).
StepShare load_share(const std::vector<LatentEntry>& entries, const DiTRunFile& c, int64_t step,
                     const ProcessGroup& group) {
  const int64_t B = c.train.batch, clips = static_cast<int64_t>(entries.size());
  auto entry = [&](int64_t j) -> const LatentEntry& {
    return entries[static_cast<size_t>(clip_of_run(c.train.seed, clips, step * B + j))];
  };
  StepShare share;
  share.places = clips_of_process(
      B, c.train.balance_shares,
      [&](int64_t j) {
        return training_cost(c.model, whole_patches(entry(j).shape, c.model.patch).tokens());
      },
      group);
  for (const int64_t j : share.places) share.clips.add(entry(j), c.model.patch);
  return share;
}

void write_plot(const std::string& dir) {
  std::vector<Series> curves;
  for (const auto& [file, name] : {std::pair<const char*, const char*>{"log.csv", "training loss"},
                                   {"validation.csv", "validation loss (held-out clips)"}}) {
    const std::string log = dir + "/" + file;
    if (fs::exists(log))
      curves.push_back(
          Series{name, MetricsLog::read_column(log, "step"), MetricsLog::read_column(log, "loss")});
  }
  write_svg_plot(dir + "/loss.svg", "DiT training (rectified flow)", "step", curves, true);
}

std::string run_config_json(const DiTRunFile& f) {
  nlohmann::ordered_json j;
  j["model"] = nlohmann::ordered_json::parse(dit_config_json(f.model));
  j["train"] = f.train.to_json();
  j["data"] = f.data.to_json();
  return j.dump(2);
}

// A setting as a person writes it: floats (stored as float, so 0.001 reads back as
// 0.0010000000474974513) to 6 significant digits, anything else as JSON.
std::string setting_text(const nlohmann::json& v) {
  if (!v.is_number_float()) return v.dump();
  std::ostringstream os;
  os << v.get<double>();
  return os.str();
}

}  // namespace

DiTTrainConfig trainer_config(const DiTRunConfig& tc, bool lenient_captions) {
  DiTTrainConfig c;
  c.lenient_captions = lenient_captions;
  c.adam.lr = tc.lr;
  c.adam.weight_decay = tc.weight_decay;
  c.warmup_steps = tc.warmup;
  c.total_steps = tc.steps;
  c.min_lr_ratio = tc.min_lr_ratio;
  c.grad_clip = tc.grad_clip;
  c.seed = tc.seed;
  c.ema_decay = tc.ema;
  c.accumulate = tc.accumulate;
  return c;
}

DiTRunConfig DiTRunConfig::from_json(const Json& j, std::vector<std::string>& p) {
  DiTRunConfig c;
  if (!j.is_object()) {
    p.push_back("\"train\" must be an object {" + join(kTrainKeys, ", ") + "}");
    return c;
  }
  const std::string s = "train.";
  check_known_keys(j, kTrainKeys, s, p);
  field(j, "steps", c.steps, s, p);
  field(j, "batch", c.batch, s, p);
  field(j, "accumulate", c.accumulate, s, p);
  field(j, "lr", c.lr, s, p);
  field(j, "warmup", c.warmup, s, p);
  field(j, "min_lr_ratio", c.min_lr_ratio, s, p);
  field(j, "weight_decay", c.weight_decay, s, p);
  field(j, "grad_clip", c.grad_clip, s, p);
  field(j, "ema", c.ema, s, p);
  field(j, "seed", c.seed, s, p);
  field(j, "checkpoint_every", c.checkpoint_every, s, p);
  field(j, "sample_every", c.sample_every, s, p);
  field(j, "sample_prompts", c.sample_prompts, s, p);
  field(j, "sample_size", c.sample_size, s, p);
  field(j, "sample_frames", c.sample_frames, s, p);
  field(j, "sample_steps", c.sample_steps, s, p);
  field(j, "sample_guidance", c.sample_guidance, s, p);
  field(j, "validate_every", c.validate_every, s, p);
  field(j, "validation_clips", c.validation_clips, s, p);
  field(j, "out", c.out, s, p);
  field(j, "init", c.init, s, p);
  field(j, "shard_optimizer", c.shard_optimizer, s, p);
  field(j, "balance_shares", c.balance_shares, s, p);
  if (c.steps < 1) p.push_back("train.steps must be >= 1");
  if (c.batch < 1) p.push_back("train.batch must be >= 1 (clips per step)");
  if (c.accumulate < 1)
    p.push_back("train.accumulate must be >= 1 (the parts a step's clips are taken in)");
  if (!(c.lr > 0)) p.push_back("train.lr must be > 0");
  if (c.warmup < 0) p.push_back("train.warmup must be >= 0");
  if (!(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1))
    p.push_back("train.min_lr_ratio is in [0, 1] (1 = a constant rate after warm-up)");
  if (c.weight_decay < 0) p.push_back("train.weight_decay must be >= 0");
  if (c.grad_clip < 0) p.push_back("train.grad_clip must be >= 0 (0 = no clipping)");
  if (!(c.ema >= 0 && c.ema < 1)) p.push_back("train.ema is a decay in [0, 1) (0 = no EMA)");
  if (c.checkpoint_every < 1) p.push_back("train.checkpoint_every must be >= 1");
  if (c.sample_every < 0) p.push_back("train.sample_every must be >= 0 (0 = no samples)");
  if (c.sample_frames < 1) p.push_back("train.sample_frames must be >= 1");
  if (c.sample_steps < 1) p.push_back("train.sample_steps must be >= 1");
  if (!(c.sample_guidance >= 1)) p.push_back("train.sample_guidance must be >= 1");
  if (c.validate_every < 0) p.push_back("train.validate_every must be >= 0 (0 = never)");
  if (c.validation_clips < 1) p.push_back("train.validation_clips must be >= 1");
  if (!c.sample_size.empty() && !parse_wxh(c.sample_size))
    p.push_back(
        "train.sample_size is one size WxH such as \"96x64\" (or \"\": the first clip's), "
        "not \"" +
        c.sample_size + "\"");
  return c;
}

nlohmann::ordered_json DiTRunConfig::to_json() const {
  nlohmann::ordered_json j;
  j["steps"] = steps;
  j["batch"] = batch;
  j["accumulate"] = accumulate;
  j["lr"] = lr;
  j["warmup"] = warmup;
  j["min_lr_ratio"] = min_lr_ratio;
  j["weight_decay"] = weight_decay;
  j["grad_clip"] = grad_clip;
  j["ema"] = ema;
  j["seed"] = seed;
  j["checkpoint_every"] = checkpoint_every;
  j["sample_every"] = sample_every;
  j["sample_prompts"] = sample_prompts;
  j["sample_size"] = sample_size;
  j["sample_frames"] = sample_frames;
  j["sample_steps"] = sample_steps;
  j["sample_guidance"] = sample_guidance;
  j["validate_every"] = validate_every;
  j["validation_clips"] = validation_clips;
  j["out"] = out;
  if (!init.empty()) j["init"] = init;
  j["shard_optimizer"] = shard_optimizer;
  j["balance_shares"] = balance_shares;
  return j;
}

DiTDataConfig DiTDataConfig::from_json(const Json& j, std::vector<std::string>& p) {
  DiTDataConfig d;
  if (!j.is_object()) {
    p.push_back(
        "\"data\" must be an object: {\"latents\": \"DIR/latents.jsonl\"} or "
        "{\"manifest\": \"VIDEOS.jsonl\", \"vae\": \"VAE.safetensors\"}");
    return d;
  }
  check_known_keys(j, kDataKeys, "data.", p);
  if (j.contains("latents")) {  // one manifest, or a list of them
    const Json& l = j["latents"];
    const bool strings =
        l.is_string() ||
        (l.is_array() && !l.empty() &&
         std::all_of(l.begin(), l.end(), [](const Json& x) { return x.is_string(); }));
    if (!strings)
      p.push_back(
          "data.latents is a latent manifest (\"DIR/latents.jsonl\") or a list of them "
          "([\"A/latents.jsonl\", \"B/latents.jsonl\"]), not " +
          l.dump());
    else if (l.is_string())
      d.latents = {l.get<std::string>()};
    else
      d.latents = l.get<std::vector<std::string>>();
  }
  field(j, "manifest", d.manifest, "data.", p);
  field(j, "vae", d.vae, "data.", p);
  field(j, "validation", d.validation, "data.", p);
  field(j, "clip_frames", d.cut.clip_frames, "data.", p);
  field(j, "max_side", d.cut.max_side, "data.", p);
  field(j, "fps", d.cut.fps, "data.", p);
  if (j.contains("latents") == j.contains("manifest"))
    p.push_back(
        "data takes one of \"latents\" (a latent manifest from `cubist vae cache`) or "
        "\"manifest\" (videos, encoded with data.vae first)");
  if (j.contains("latents") && d.cut.cuts())
    p.push_back(
        "data.clip_frames, data.max_side and data.fps cut the videos of data.manifest as they "
        "are cached; latents were cut when they were cached (`cubist vae cache --clip-frames "
        "F --max-side PX --fps R`)");
  return d;
}

nlohmann::ordered_json DiTDataConfig::to_json() const {
  nlohmann::ordered_json j;
  if (latents.size() == 1) j["latents"] = latents[0];  // as one manifest was always written
  if (latents.size() > 1) j["latents"] = latents;
  if (!manifest.empty()) j["manifest"] = manifest;
  if (!vae.empty()) j["vae"] = vae;
  if (!validation.empty()) j["validation"] = validation;
  if (cut.cuts()) j.update(cut.to_json());
  return j;
}

DiTRunFile parse_dit_run_config(const std::string& json_text, const std::string& where) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::exception& e) {
    fail(where, ": not valid JSON: ", e.what());
  }
  CUBIST_CHECK(j.is_object(), where, ": a training config is a JSON object {", join(kTopKeys, ", "),
               "}");
  std::vector<std::string> p;
  check_known_keys(j, kTopKeys, "", p);
  DiTRunFile f;
  if (!j.contains("model")) p.push_back("no \"model\" (a DiT config, as configs/dit/tiny.json)");
  if (!j.contains("data")) p.push_back("no \"data\" ({\"latents\": ...} or {\"manifest\": ...})");
  if (j.contains("model")) {
    try {
      f.model = parse_dit_config(j["model"].dump(), "model");
    } catch (const Error& e) {
      p.push_back(e.what());
    }
  }
  f.train = DiTRunConfig::from_json(j.value("train", Json::object()), p);
  if (j.contains("data")) f.data = DiTDataConfig::from_json(j["data"], p);
  if (!p.empty()) {
    std::ostringstream os;
    for (size_t i = 0; i < p.size(); ++i) os << (i ? "; " : "") << p[i];
    fail(where, ": ", os.str());
  }
  for (std::string& l : f.data.latents) l = absolute_path(l);
  f.data.manifest = absolute_path(f.data.manifest);
  f.data.vae = absolute_path(f.data.vae);
  f.data.validation = absolute_path(f.data.validation);
  f.train.out = absolute_path(f.train.out);
  if (tokenizer_is_file(f.model)) f.model.tokenizer = absolute_path(f.model.tokenizer);
  return f;
}

DiTRunFile load_dit_run_config(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in.good(), "train: cannot open the config ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_dit_run_config(ss.str(), path);
}

std::vector<std::string> changed_run_settings(const std::string& saved, const std::string& now) {
  const Json was = Json::parse(saved, nullptr, false), is = Json::parse(now);
  const Json defaults = {{"train", DiTRunConfig{}.to_json()}, {"data", DiTDataConfig{}.to_json()}};
  std::vector<std::string> changed;
  if (!was.is_object()) return changed;
  for (const char* part : {"train", "data"}) {
    const Json& d = defaults[part];
    const auto value = [&](const Json& run, const std::string& key) {
      const Json& p = run.contains(part) ? run[part] : d;
      return p.contains(key)   ? setting_text(p[key])
             : d.contains(key) ? setting_text(d[key])
                               : std::string("(unset)");
    };
    std::set<std::string> keys;
    for (const Json* run : {&was, &is})
      if (run->contains(part))
        for (const auto& item : (*run)[part].items()) keys.insert(item.key());
    for (const std::string& key : keys) {
      const std::string before = value(was, key), after = value(is, key);
      if (key != "steps" && before != after)
        changed.push_back(std::string(part) + "." + key + " " + before + " -> " + after);
    }
  }
  return changed;
}

int64_t clip_of_run(uint64_t seed, int64_t clips, int64_t index) {
  CUBIST_CHECK(clips > 0 && index >= 0, "clip_of_run: needs clips > 0 and index >= 0");
  const int64_t epoch = index / clips;
  std::vector<int64_t> order(static_cast<size_t>(clips));
  std::iota(order.begin(), order.end(), 0);
  Generator g(seed, (kDataStream << 24) + static_cast<uint64_t>(epoch));
  for (int64_t i = clips - 1; i > 0; --i)  // Fisher-Yates
    std::swap(order[static_cast<size_t>(i)], order[g.randint(static_cast<uint64_t>(i + 1))]);
  return order[static_cast<size_t>(index % clips)];
}

// The model's config with the latent normalization filled in: a config's own, else the
// checkpoint's (a resumed run keeps what it started with), else measured on the data.
DiTConfig model_config(DiTConfig c, const std::vector<LatentEntry>& entries,
                       const std::string& ckpt) {
  if (!c.latent_mean.empty()) return c;
  if (fs::exists(ckpt)) {
    const DiTConfig saved =
        parse_dit_config(SafeTensors::open(ckpt).metadata_text("dit_config", "{}"), ckpt);
    c.latent_mean = saved.latent_mean;
    c.latent_std = saved.latent_std;
    return c;
  }
  const LatentStats s = latent_statistics(entries);
  c.latent_mean = s.mean;
  c.latent_std = s.std;
  return c;
}

// The run's tokenizer: text.tokenizer's file, or one built from the captions ("word",
// "sentencepiece"). The tokenizer a resumed or fine-tuned run's weights were trained with is
// kept (its ids are what the weights read; new captions are read as its pieces, or <unk>): a
// sentencepiece model as it is, a file only if it is that tokenizer. A sentencepiece model is
// trained by process 0 alone and sent to the others, so that every process reads the same ids
// whatever its library's version, and the others do not spend the time.
text::Tokenizer run_tokenizer(const DiTConfig& model, const std::vector<LatentEntry>& entries,
                              const std::string& weights, ProcessGroup& group) {
  std::optional<text::Tokenizer> stored;
  if (model.tokenizer != "word" && !weights.empty() && fs::exists(weights)) {
    const std::string saved = SafeTensors::open(weights).metadata_text("tokenizer", "");
    if (!saved.empty()) stored = text::Tokenizer::from_json(saved, weights);
  }
  if (tokenizer_is_file(model)) {
    CUBIST_CHECK(fs::exists(model.tokenizer), "train: text.tokenizer ", model.tokenizer,
                 " does not exist (a tokenizer file from `cubist text tokenizer`; or \"word\" or "
                 "\"sentencepiece\" to build one from the captions)");
    text::Tokenizer t = text::Tokenizer::load(model.tokenizer);
    CUBIST_CHECK(!stored || stored->same_as(t), weights,
                 " was trained with another tokenizer than text.tokenizer ", model.tokenizer,
                 ", and its weights read that one's ids; give text.tokenizer \"",
                 stored ? stored->type() : "", "\" to keep it");
    return t;
  }
  if (stored && stored->subword()) return *stored;
  std::vector<std::string> captions;
  for (const LatentEntry& e : entries) captions.push_back(e.caption);
  if (model.tokenizer == "sentencepiece") {
    std::string json;
    if (group.rank() == 0)
      json = text::Tokenizer::sentencepiece(captions, model.tokenizer_pieces, model.max_text_tokens)
                 .to_json();
    group.broadcast(json, 0);
    return text::Tokenizer::from_json(json, "the tokenizer process 0 trained");
  }
  return text::Tokenizer::from_captions(captions, model.max_text_tokens);
}

DiTRunResult train_dit(const DiTRunOptions& o) {
  const DiTRunConfig& tc = o.config.train;
  SingleProcess alone;
  ProcessGroup& group = o.group ? *o.group : alone;
  const bool writer = group.rank() == 0;  // writes the folder and calls back
  CUBIST_CHECK(!o.out_dir.empty(), "train: no output folder given");
  CUBIST_CHECK(!o.validate_only || !o.config.data.validation.empty(),
               "train --validate-only: the config has no data.validation (held-out clips: a "
               "latent manifest from `cubist vae cache`, or a manifest of videos) to measure on");
  CUBIST_CHECK(tc.batch >= group.size(), "train: ", group.size(),
               " processes share each step's clips, so train.batch must be at least ", group.size(),
               " (it is ", tc.batch, "); start fewer processes or raise train.batch in the config");
  CUBIST_CHECK(tc.batch >= group.size() * tc.accumulate, "train: train.accumulate ", tc.accumulate,
               " takes each process's share of a step's ", tc.batch, " clips in ", tc.accumulate,
               " parts of a clip or more, so train.batch must be at least ",
               group.size() * tc.accumulate, "; lower train.accumulate or raise train.batch");
  const std::string ckpt = o.out_dir + "/checkpoint.safetensors";
  const std::string weights = o.out_dir + "/dit.safetensors";
  const bool resuming = fs::exists(ckpt);
  CUBIST_CHECK(!o.validate_only || resuming || !tc.init.empty(), "train --validate-only: no ",
               "weights to measure: ", o.out_dir,
               " holds no checkpoint and the config has no train.init");
  std::optional<OutputFolder> folder;
  if (!o.validate_only && writer) folder.emplace(o.out_dir);

  DiTRunOptions here = o;  // the callbacks, on rank 0 only
  if (!writer) here.on_cache = {}, here.on_start = {}, here.on_step = {};
  const RunData data = prepare_data(here, group);
  if (data.stopped) {  // the cache resumes on the next run
    DiTRunResult r;
    if (resuming) r.start_step = r.end_step = SafeTensors::open(ckpt).metadata_int("step", 0);
    r.stopped_caching = true;
    return r;
  }
  here.config.data.validation = data.validation;  // held-out videos: their cache
  text::Tokenizer tokenizer =
      run_tokenizer(o.config.model, data.entries, resuming ? ckpt : tc.init, group);
  // A tokenizer not built from these captions (a file, or a sentencepiece model kept from the
  // weights) may meet words or characters they have: <unk>, not an error hours into a run.
  const bool lenient = tokenizer_is_file(o.config.model) || tokenizer.subword();
  DiTTrainer trainer(model_config(o.config.model, data.entries, ckpt), std::move(tokenizer),
                     trainer_config(tc, lenient), tc.seed);

  if (tc.shard_optimizer) trainer.shard_optimizer(group);  // before load: each reads its moments
  DiTRunResult result;
  double elapsed = 0;  // seconds of steps and samples, over all sessions
  const std::string run_json = run_config_json(o.config);
  std::vector<std::string> changed;
  if (resuming) {
    trainer.load(ckpt);
    result.start_step = trainer.steps();
    const SafeTensors saved = SafeTensors::open(ckpt);
    elapsed = saved.metadata_number("elapsed_s", 0);
    changed = changed_run_settings(saved.metadata_text("run_config", ""), run_json);
  } else if (!tc.init.empty()) {
    CUBIST_CHECK(fs::exists(tc.init), "train: train.init ", tc.init,
                 " does not exist (the weights to fine-tune: a dit.safetensors or a checkpoint)");
    trainer.load_weights(tc.init);
  }
  if (o.validate_only) {
    result.end_step = result.start_step;
    if (!writer) return result;  // one process measures
    const Batch clips = load_validation_clips(here);
    result.validated = resuming ? ckpt : tc.init;
    result.validation_clips = static_cast<int64_t>(clips.latents.size());
    result.validation_loss = held_out_loss(trainer, clips, tc);
    return result;
  }
  CUBIST_CHECK(same_weights(trainer.model().parameters(), group), "train: the ", group.size(),
               " processes start from different weights (each reads ",
               resuming          ? ckpt
               : tc.init.empty() ? "no file"
                                 : tc.init,
               "): every process must see the same files at the same paths");
  const SampleWriter samples(o, data.entries, trainer.tokenizer(), writer);
  Validator validator(here, result.start_step, writer);
  if (writer && o.on_start) {
    DiTRunInfo info{result.start_step,
                    trainer.model().num_parameters(),
                    static_cast<int64_t>(data.entries.size()),
                    trainer.tokenizer().vocab_size(),
                    join(data.latents, ", "),
                    samples.vae_path(),
                    data.cache_failed,
                    group.size(),
                    changed,
                    0,
                    ""};
    info.tokenizer = trainer.tokenizer().type();
    info.caption_tokens = trainer.tokenizer().max_tokens();
    for (const LatentEntry& e : data.entries) {
      const int64_t n = whole_patches(e.shape, o.config.model.patch).tokens();
      if (n > info.largest_tokens) info.largest_tokens = n, info.largest_clip = e.latent;
      const int64_t tokens = trainer.tokenizer().count(e.caption);
      info.long_captions += tokens > trainer.tokenizer().max_tokens();
      const std::vector<int32_t> ids = trainer.tokenizer().encode_caption(e.caption, true);
      info.unknown_captions += std::count(ids.begin(), ids.end(), text::kUnk) > 0;
      info.uncaptioned += ids == std::vector<int32_t>{text::kEmpty};
      info.longest_caption = std::max(info.longest_caption, tokens);
    }
    o.on_start(info);
  }
  if (result.start_step >= tc.steps) {  // past the steps asked: its files stay as they are
    result.end_step = result.start_step;
    result.finished = true;
    return result;
  }
  std::optional<MetricsLog> log;
  if (writer) {
    log.emplace(
        o.out_dir + "/log.csv",
        std::vector<std::string>{"step", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"},
        result.start_step + 1);
    write_text_file(o.out_dir + "/config.json", run_json + "\n");
  }
  // The encoder whose latents the weights learn: generate holds a model folder's autoencoder to it.
  const LatentSource trained_on = latent_source(data.entries.front());
  auto save = [&](int64_t step) {
    CUBIST_CHECK(same_weights(trainer.model().parameters(), group), "train: at step ", step,
                 " the ", group.size(),
                 " processes hold different weights, so their steps went differently; the "
                 "last checkpoint is kept");
    std::map<std::string, std::string> meta = {{"run_config", run_json},
                                               {"elapsed_s", std::to_string(elapsed)},
                                               {"data", join(data.latents, ", ")}};
    if (!trained_on.encoder.empty()) meta["vae_encoder"] = trained_on.encoder;
    if (!trained_on.encoder_bf16.empty()) meta["vae_encoder_bf16"] = trained_on.encoder_bf16;
    trainer.save(ckpt, meta, writer);  // every process: sharded moments come to rank 0
    if (!writer) return;
    trainer.save_weights(weights, meta);
    write_plot(o.out_dir);
  };

  int64_t step = result.start_step, run_steps = 0;
  while (step < tc.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    const StepShare share = load_share(data.entries, o.config, step, group);
    const DiTTrainStats s =
        trainer.step(share.clips.latents, share.clips.captions, &group, share.places);
    step = s.step, ++run_steps;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    DiTRunStatus st;
    st.step = step, st.steps = tc.steps;
    st.loss = s.loss, st.lr = s.lr, st.grad_norm = s.grad_norm;
    st.tokens_per_s = static_cast<double>(s.tokens) / dt;
    if (samples.due(step)) st.sample = samples.write(trainer.sampling_model(), step);
    if (validator.due(step)) st.validation_loss = validator.measure(trainer, step);
    elapsed += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.elapsed_s = elapsed;
    if (log)
      log->write(
          {static_cast<double>(step), st.loss, st.lr, st.grad_norm, st.tokens_per_s, elapsed});
    // A signal may reach the processes at different steps: they stop together.
    double stop_votes =
        (o.stop_after > 0 && run_steps >= o.stop_after) || (o.stop && o.stop->load());
    group.all_reduce_sum(&stop_votes, 1);
    const bool stopping = stop_votes > 0;
    if (step % tc.checkpoint_every == 0 || step == tc.steps || stopping) {
      save(step);
      if (writer) st.checkpoint = ckpt;
    }
    if (writer && o.on_step) o.on_step(st);
    if (stopping) break;
  }
  result.end_step = step;
  result.finished = step >= tc.steps;
  return result;
}

}  // namespace cubist
