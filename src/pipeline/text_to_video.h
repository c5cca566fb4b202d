// Text to video, the job of `cubist generate`, as a library: load a model folder, turn a prompt
// into what the model is conditioned on (Shapes World prompt expansion, seeded), check a request
// before any sampling, generate, and write the video with its provenance (a sidecar JSON file
// OUT.json, and metadata tags where the container keeps them). The layer above train/: it uses
// the trainer's checkpoint format (train/dit_trainer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diffusion/dit_flow.h"
#include "diffusion/flow.h"
#include "io/video.h"
#include "models/dit/dit.h"
#include "models/text/tokenizer.h"
#include "models/vae/vae.h"

namespace cubist {

struct TextToVideoModel {
  std::string dir;  // the model as named to load_text_to_video ("": the default folder)
  std::string dit_path, vae_path;
  std::unique_ptr<DiT> dit;
  text::Tokenizer tokenizer;
  std::unique_ptr<Vae> vae;
  // The clip length the transformer's training run sampled at (train.sample_frames in the
  // run_config metadata of dit.safetensors); 0 when the file records none.
  int64_t trained_frames = 0;
  std::vector<std::string> notes;  // how the model was found, where it was not as named
};

// The files of the model in `dir`: dir/dit.safetensors (from `cubist train`) and
// dir/vae.safetensors; dir "" takes the default model folder (models/model_files.h). `dir` may
// also name the transformer's file itself (a dit.safetensors, or a run's
// checkpoint.safetensors), beside which the autoencoder is looked for. A training run's folder,
// which holds no vae.safetensors, takes the autoencoder its latents record, when that file still
// has the encoder that made them (a note says so). A missing file is an Error that says where it
// looked and how to get a model.
struct ModelPaths {
  std::string dit, vae;
  std::vector<std::string> notes;  // how they were found, where not as named
};
ModelPaths find_model_paths(const std::string& dir);

// Loads the model find_model_paths finds; a transformer whose latent channels differ from the
// autoencoder's is an Error.
TextToVideoModel load_text_to_video(const std::string& dir);

struct VideoRequest {
  std::string prompt;
  bool expand = true;  // expand the prompt (text/prompt_expansion.h) under `seed`
  int64_t width = 96, height = 64, frames = 17;
  int steps = 30;
  float guidance = 5.0f;  // classifier-free guidance scale; 1 = none
  // What the video should not show: guidance steers away from it rather than from the empty
  // prompt. Taken as typed (never expanded); "" for none.
  std::string negative_prompt;
  flow::GuidanceRule guidance_rule = flow::GuidanceRule::kClassifierFree;
  float shift = 0.0f;  // the sampling schedule's time shift; 0 = the model's for the size
  uint64_t seed = 1;   // the expansion and the initial noise
  flow::Sampler sampler = flow::Sampler::kHeun;
};

struct PreparedPrompt {
  std::string conditioned;          // what the model is conditioned on
  std::vector<std::string> filled;  // what expansion drew ("background: navy"), if anything
  std::vector<int32_t> ids;         // `conditioned` in the model's tokens
  std::vector<int32_t> negative;    // the negative prompt in the model's tokens; empty: none
};

// Checks a request against the model and prepares its prompt; every problem is an Error saying
// what is accepted: an empty prompt, unknown words (expansion's and the model's vocabulary), a
// prompt longer than the model's max_text_tokens, frames not 1 + tf k, sizes that are not
// multiples of the autoencoder's spatial factor times the patch, steps < 1, guidance < 1, a
// negative shift.
PreparedPrompt prepare_request(const TextToVideoModel& model, const VideoRequest& request);

// The request's sampling settings for generate_latents: steps, sampler, guidance (and its rule
// and the prepared negative prompt, which must outlive the options), time shift and seed.
GenerateOptions sampling_options(const VideoRequest& request, const PreparedPrompt& prompt);

// Generates the video (8 fps). The same request gives the same frames.
Video generate(const TextToVideoModel& model, const VideoRequest& request,
               const PreparedPrompt& prompt, const flow::StepFn& on_step = {});

// A float setting as the user typed it (0.9, not the 0.8999999761581421 of its float's double),
// for provenance records.
double as_given(float v);

// The provenance record: prompt, expanded prompt, filled, seed, steps, guidance and its rule,
// sampler, size, frames, fps, the model files' names and SHA-256, the Cubist version,
// "ai_generated": true, and (with_time) the machine's side of the run: "run" (the threads and
// whether the matrix products were deterministic, which a result to the bit depends on: ops/gemm.h)
// and the UTC time of writing. Without them it is a pure function of the request and the model
// files, which keeps a video's bytes the same for the same seed.
nlohmann::ordered_json provenance(const TextToVideoModel& model, const VideoRequest& request,
                                  const PreparedPrompt& prompt, bool with_time = true);
// Adds the machine's side of the run to a provenance record, at its end: "run" (with the model
// folder as an absolute path, where one was named: `cubist info` then names it in the command
// that makes the video again) and "utc_time".
void stamp_run(nlohmann::ordered_json& record, const TextToVideoModel& model);

// OUT.json beside the output: "clip.mp4" -> "clip.mp4.json", a folder "frames/" -> "frames.json".
std::string sidecar_path(const std::string& out);

// Writes the video by its extension (io/video.h: .mp4, .webm, .gif, a folder of PNG frames, .png
// for one frame) and the sidecar. MP4, WebM and frame folders also carry the metadata tags
// comment = "AI-generated by Cubist; prompt: ...", ai_generated = "true" and provenance (the
// record without the time). Returns the sidecar's path.
std::string write_generated(const std::string& out, const Video& video,
                            const nlohmann::ordered_json& record);

}  // namespace cubist
