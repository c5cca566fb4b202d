#include "pipeline/text_to_video.h"

#include <cmath>
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "core/parallel.h"
#include "core/strings.h"
#include "core/version.h"
#include "data/latent_cache.h"
#include "diffusion/video_sampling.h"
#include "io/output_folder.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "io/text_file.h"
#include "models/model_files.h"
#include "models/text/prompt_expansion.h"
#include "models/vae/latent_io.h"
#include "ops/gemm.h"
#include "train/dit_trainer.h"

namespace cubist {

namespace fs = std::filesystem;

namespace {

constexpr double kFps = 8.0;

const char* sampler_name(flow::Sampler s) { return s == flow::Sampler::kHeun ? "heun" : "euler"; }

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json model_file(const std::string& path) {
  nlohmann::ordered_json j;
  j["file"] = fs::path(path).filename().string();
  j["sha256"] = sha256_file(path);
  return j;
}

// train.sample_frames of the run_config that `cubist train` stores in dit.safetensors, or 0.
int64_t recorded_sample_frames(const std::string& dit_path) {
  const SafeTensors f = SafeTensors::open(dit_path);
  const auto it = f.metadata().find("run_config");
  if (it == f.metadata().end()) return 0;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  if (j.is_discarded() || !j.contains("train") || !j["train"].is_object()) return 0;
  const nlohmann::json& t = j["train"];
  return t.contains("sample_frames") && t["sample_frames"].is_number_integer()
             ? t["sample_frames"].get<int64_t>()
             : 0;
}

// A training run's folder holds its transformer alone, and the latents it trained on record the
// autoencoder that encoded them (data/latent_cache.h): that file, when it is there and its encoder
// is still the one that made them (a decoder fine-tuned alone keeps them valid); else no path,
// and why not where the transformer records its latents.
struct TrainingVae {
  std::string path, why_not;
};
TrainingVae training_vae(const std::string& dit_path) {
  const SafeTensors f = SafeTensors::open(dit_path);
  const auto data = f.metadata().find("data");
  if (data == f.metadata().end()) return {};
  const std::string manifest = data->second.substr(0, data->second.find(", "));  // the first
  std::vector<LatentEntry> entries;
  try {
    entries = read_latent_manifest(manifest);
  } catch (const Error&) {
    return {"", "the latents it was trained on (" + manifest + ") are no longer there"};
  }
  if (entries.empty()) return {};
  if (std::string vae = encoder_of(entries.front().latent); !vae.empty()) return {vae, ""};
  std::string recorded;
  try {
    recorded = load_latent(entries.front().latent).vae;
  } catch (const Error&) {
    return {"", "its first training latent (" + entries.front().latent + ") is no longer there"};
  }
  std::error_code ec;
  if (recorded.empty()) return {};
  if (!fs::exists(recorded, ec))
    return {"", "the autoencoder its latents record (" + recorded + ") is no longer there"};
  return {"", "the autoencoder its latents record (" + recorded +
                  ") now holds other encoder weights (trained on since its latents were cached)"};
}

}  // namespace

ModelPaths find_model_paths(const std::string& dir) {
  const std::string how =
      "Pass --model DIR, a folder holding dit.safetensors and vae.safetensors. Get a model by "
      "training one: `cubist vae train --out VAE_DIR` (the autoencoder), "
      "`cubist vae cache` over a manifest, then `cubist train --config configs/dit/shapes.json "
      "--out DIR`; DIR/dit.safetensors and VAE_DIR/vae.safetensors together in one folder make a "
      "model (docs/DIT.md).";
  ModelPaths m;
  std::error_code ec;
  const bool file = !dir.empty() && fs::is_regular_file(dir, ec);  // a dit file or checkpoint
  CUBIST_CHECK(file || !dir.ends_with(".safetensors"), dir,
               ": no such file (--model takes a model folder, or a transformer's "
               "dit.safetensors or checkpoint.safetensors)");
  const std::string folder =
      file ? (fs::path(dir).has_parent_path() ? fs::path(dir).parent_path().string() : ".") : dir;
  m.dit = file ? dir : find_model_file(kDiTFile, dir, how);
  TrainingVae trained;
  if (!folder.empty() && !fs::exists(fs::path(folder) / kVaeFile)) trained = training_vae(m.dit);
  m.vae = trained.path;
  if (m.vae.empty())
    m.vae = find_model_file(kVaeFile, folder,
                            trained.why_not.empty()
                                ? how
                                : "The transformer was trained in " + folder + ", but " +
                                      trained.why_not +
                                      ": copy the autoencoder its latents were cached with into " +
                                      folder + " as " + kVaeFile + ". " + how);
  else
    m.notes.push_back(folder + " holds no " + kVaeFile + "; decoding with " + m.vae +
                      ", the autoencoder whose latents the transformer was trained on");
  return m;
}

// A transformer draws latents of the encoder it was trained on, and another autoencoder of the
// same shape decodes them into something else with no error of its own. Its file records that
// encoder (from its training latents) when the run knew it; an older file is not checked.
void check_autoencoder(TextToVideoModel& m) {
  const SafeTensors f = SafeTensors::open(m.dit_path);
  const auto recorded = [&](const char* key) {
    const auto it = f.metadata().find(key);
    return it == f.metadata().end() ? std::string() : it->second;
  };
  const std::string encoder = recorded("vae_encoder");
  const Vae::Match match = m.vae->encoder_match(encoder, recorded("vae_encoder_bf16"));
  const std::string says = m.vae_path + "'s encoder (weights " + m.vae->encoder_fingerprint() +
                           ") is not the one whose latents " + m.dit_path + " was trained on (" +
                           encoder + ")";
  CUBIST_CHECK(match != Vae::Match::kNo, says,
               ": its videos would come out wrong. A model folder needs the autoencoder the "
               "transformer's latents were cached with, or that one's decoder fine-tuned alone "
               "(`cubist info ",
               m.dit_path, "` names the latents it trained on)");
  if (match == Vae::Match::kUnknown)
    m.notes.push_back(says +
                      " at f32; unless it is that autoencoder at another precision, the "
                      "videos will be wrong");
}

TextToVideoModel load_text_to_video(const std::string& dir) {
  ModelPaths paths = find_model_paths(dir);
  TextToVideoModel m;
  m.dir = dir, m.dit_path = paths.dit, m.vae_path = paths.vae, m.notes = std::move(paths.notes);
  LoadedDiT loaded = load_dit_checkpoint(m.dit_path);
  m.dit = std::move(loaded.model);
  m.tokenizer = std::move(loaded.tokenizer);
  m.vae = load_vae(m.vae_path);
  m.trained_frames = recorded_sample_frames(m.dit_path);
  const DiTConfig& c = m.dit->config();
  CUBIST_CHECK(c.latent_channels == m.vae->config().latent_channels, m.dit_path,
               ": the transformer works on ", c.latent_channels, " latent channels but ",
               m.vae_path, " (", m.vae->config().summary(), ") makes ",
               m.vae->config().latent_channels,
               "; a model folder needs the autoencoder whose latents the transformer was trained "
               "on");
  check_autoencoder(m);
  return m;
}

PreparedPrompt prepare_request(const TextToVideoModel& m, const VideoRequest& r) {
  CUBIST_CHECK(!text::split_words(r.prompt).empty(),
               "generate: the prompt is empty; describe the video, for instance \"a red ball "
               "bouncing\" or \"a blue square moving left on a navy background\"");
  CUBIST_CHECK(r.steps >= 1, "generate: ", r.steps,
               " sampling steps; accepted: 1 or more (30 is "
               "a good start)");
  // Far past the usual scales the guided velocity leaves what floats hold (a black video).
  CUBIST_CHECK(r.guidance >= 1.0f && r.guidance <= 100.0f, "generate: guidance ", r.guidance,
               "; accepted: 1 to 100 (1 = no guidance; 4 to 7 are usual)");
  CUBIST_CHECK(r.shift >= 0.0f && std::isfinite(r.shift), "generate: time shift ", r.shift,
               "; accepted: a number > 0 (above 1 spends more steps at high noise), or 0 for the "
               "model's own for the clip's size");
  video_latent_shape(m.dit->config(), m.vae->config(), r.frames, r.width, r.height);
  PreparedPrompt p;
  if (r.expand) {
    // Only words the model can read are drawn (a word tokenizer lists them; pieces spell any).
    text::WordFilter known;
    if (!m.tokenizer.subword())
      known = [&](const std::string& w) { return m.tokenizer.id(w).has_value(); };
    const text::ExpandedPrompt e = text::expand_prompt(r.prompt, r.seed, known);
    p.conditioned = e.caption;
    p.filled = e.filled;
  } else {
    p.conditioned = r.prompt;
  }
  const int64_t words = static_cast<int64_t>(text::split_words(p.conditioned).size());
  const int64_t most = m.dit->config().max_text_tokens;
  CUBIST_CHECK(words <= most, "generate: the ", r.expand ? "expanded prompt" : "prompt", " has ",
               words, " words but this model takes at most ", most, ": ",
               quoted_excerpt(p.conditioned));
  p.ids = m.tokenizer.encode(p.conditioned);  // words the model never saw: an Error naming them
  if (!text::split_words(r.negative_prompt).empty()) {
    CUBIST_CHECK(
        r.guidance != 1.0f,
        "generate: a negative prompt steers guidance, and guidance "
        "is 1 (none); give --guidance above 1 (5 is usual), or leave the negative prompt out");
    try {
      p.negative = m.tokenizer.encode(r.negative_prompt);
    } catch (const Error& e) {
      fail("generate: the negative prompt: ", e.what());
    }
  }
  return p;
}

GenerateOptions sampling_options(const VideoRequest& r, const PreparedPrompt& p) {
  GenerateOptions g;
  g.steps = r.steps;
  g.sampler = r.sampler;
  g.guidance = r.guidance;
  g.negative_prompt = p.negative.empty() ? nullptr : &p.negative;
  g.guidance_rule = r.guidance_rule;
  g.shift = r.shift;
  g.seed = r.seed;
  return g;
}

Video generate(const TextToVideoModel& m, const VideoRequest& r, const PreparedPrompt& p,
               const flow::StepFn& on_step) {
  GenerateOptions g = sampling_options(r, p);
  g.on_step = on_step;
  return generate_video(*m.dit, *m.vae, p.ids, r.frames, r.width, r.height, g, kFps);
}

double as_given(float v) { return std::round(static_cast<double>(v) * 1e6) / 1e6; }

nlohmann::ordered_json provenance(const TextToVideoModel& m, const VideoRequest& r,
                                  const PreparedPrompt& p, bool with_time) {
  nlohmann::ordered_json j;
  j["ai_generated"] = true;
  j["generator"] = "Cubist";
  j["cubist_version"] = version();
  j["prompt"] = r.prompt;
  j["expanded_prompt"] = p.conditioned;
  j["expand"] = r.expand;
  j["filled"] = p.filled;
  j["seed"] = r.seed;
  j["steps"] = r.steps;
  j["guidance"] = as_given(r.guidance);
  if (!p.negative.empty()) j["negative_prompt"] = r.negative_prompt;
  j["guidance_rule"] = flow::guidance_rule_name(r.guidance_rule);
  j["sampler"] = sampler_name(r.sampler);
  if (r.shift > 0) j["shift"] = as_given(r.shift);  // else the model's own
  j["width"] = r.width;
  j["height"] = r.height;
  j["frames"] = r.frames;
  j["fps"] = kFps;
  j["model"] = {{"dit", model_file(m.dit_path)}, {"vae", model_file(m.vae_path)}};
  if (with_time) stamp_run(j, m);
  return j;
}

void stamp_run(nlohmann::ordered_json& record, const TextToVideoModel& model) {
  record["run"] = {{"threads", num_threads()}, {"deterministic", ops::gemm_deterministic()}};
  if (!model.dir.empty())
    record["run"]["model"] = std::filesystem::absolute(model.dir).lexically_normal().string();
  record["utc_time"] = utc_now();
}

std::string sidecar_path(const std::string& out) { return without_trailing_slashes(out) + ".json"; }

std::string write_generated(const std::string& out, const Video& video,
                            const nlohmann::ordered_json& record) {
  // Every form write_video writes keeps these tags. What differs between runs that make the same
  // video stays in the record beside it only, so that the same seed gives the same bytes: how
  // it ran, when, and the notes (a time estimate measured on this machine, how the model was
  // found as it was named, a prompt taken as typed where --no-expand was not given).
  nlohmann::ordered_json timeless = record;
  for (const char* key : {"run", "utc_time", "notes"}) timeless.erase(key);
  VideoWriteOptions w;
  w.metadata = {{"comment", "AI-generated by Cubist; prompt: " +
                                record.value("expanded_prompt", std::string())},
                {"ai_generated", "true"},
                {"provenance", timeless.dump()}};
  write_video(out, video, w);
  const std::string side = sidecar_path(out);
  write_text_file(side, record.dump(2) + "\n");
  return side;
}

}  // namespace cubist
