// A training run of the diffusion transformer, as `cubist train --config FILE` runs it: latent
// clips with captions (a latent cache, or a manifest of videos that is encoded into one first),
// DiTTrainer steps over packed batches, an EMA of the weights, checkpoints that resume exactly,
// a CSV log, a loss curve, and sample videos decoded by the data's autoencoder. Library code: it
// reports through callbacks and never prints.
//
// Config file (JSON): {"model": {...}, "train": {...}, "data": {...}}
//   model  a DiT config, as configs/dit/*.json (models/dit/config.h)
//   train  the keys of DiTRunConfig below
//   data   {"latents": "DIR/latents.jsonl"} (written by `cubist vae cache`; a list of them trains
//          on their clips together, which one autoencoder's encoder must have made), or
//          {"manifest": "VIDEOS.jsonl", "vae": "VAE.safetensors"} (encoded into OUT/cache first,
//          resuming an interrupted cache); "vae" may also accompany "latents" (for samples);
//          "validation": "HELD_OUT/latents.jsonl", a latent cache of clips not trained on
// Relative paths in the file resolve against the working directory. Unknown keys and bad values
// are Errors naming the key and what is accepted, all problems at once.
//
// The output folder holds:
//   checkpoint.safetensors  everything to resume: weights, EMA weights, AdamW moments; metadata
//                           step, dit_config, tokenizer, run_config, elapsed_s
//   dit.safetensors         the EMA weights (the last weights without EMA), the DiT config and
//                           the tokenizer: what `cubist generate` loads
//   log.csv                 step,loss,lr,grad_norm,tokens_per_s,elapsed_s
//   validation.csv          step,loss: with data.validation, every validate_every steps, the
//                           EMA weights' loss on the first validation_clips held-out clips
//                           (DiTTrainer::validation_loss, the same draws every time)
//   loss.svg                the loss curves
//   config.json             the run's config as read (paths resolved)
//   samples/step_NNNNNN.mp4 every sample_every steps: one panel per sample prompt, side by side
//   cache/                  the latent cache, when the data is a manifest of videos
// Running again on the same folder resumes from the checkpoint: clip i of the run, and the
// draws of step s, are pure functions of (seed, i) and (seed, s), so the resumed run continues
// with bitwise the same weights as an uninterrupted one (at a fixed thread count).
//
// Data parallel (`mpirun -np N cubist train ...`, train/process_group.h): every process holds
// the model and takes its share of each step's train.batch clips; the gradients are summed over
// the processes, so N processes take the steps that one would take with the whole batch. Rank 0
// alone encodes a manifest, writes the folder and calls the callbacks; the others read the
// data, and the checkpoint when resuming, from the same paths (a shared file system across
// machines). The processes' weights are compared at every checkpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/latent_cache.h"
#include "models/dit/config.h"
#include "train/dit_trainer.h"
#include "train/process_group.h"

namespace cubist {

struct DiTRunConfig {
  int64_t steps = 20000;
  int64_t batch = 8;  // clips per step, packed into one sequence (sizes may differ)
  // Each process's share of a step's clips taken in this many parts, one forward and backward
  // at a time: memory for one part's activations, the same step (DiTTrainConfig::accumulate).
  int64_t accumulate = 1;
  float lr = 2e-4f;
  int64_t warmup = 500;       // steps of linear warm-up, then a cosine decay
  float min_lr_ratio = 1.0f;  // to lr * min_lr_ratio at the last step (1 = no decay)
  float weight_decay = 0.0f;
  float grad_clip = 1.0f;  // max global gradient norm; 0 = none
  float ema = 0.999f;      // EMA decay (train/ema.h); 0 = no EMA
  uint64_t seed = 1;       // initial weights, data order, times, noise, caption dropout
  int64_t checkpoint_every = 500;
  int64_t sample_every = 1000;              // 0 = no samples
  std::vector<std::string> sample_prompts;  // empty: the first two captions of the data
  std::string sample_size;                  // WxH; "" = the first training clip's size
  int64_t sample_frames = 17;
  int64_t sample_steps = 30;
  float sample_guidance = 5.0f;
  int64_t validate_every = 1000;  // with data.validation; 0 = never
  int64_t validation_clips = 64;  // the first clips of data.validation
  std::string out;                // the output folder when the command line gives none
  std::string init;  // fine-tune: weights to start a new run from (a dit.safetensors or checkpoint)
  // Data parallel: the optimizer's moments sharded over the processes (ZeRO stage 1,
  // train/adamw.h), each keeping 1/N of them; the steps are the same either way.
  bool shard_optimizer = true;
  // Data parallel: each step's clips dealt to the processes by their work (balanced_shares), so
  // that none waits long for another at the gradient sum; false deals them in order, equal
  // numbers of clips. The steps are the same either way (up to the order of float sums).
  bool balance_shares = true;

  // The "train" object; every problem is collected into `problems` ("train.lr must be > 0").
  static DiTRunConfig from_json(const nlohmann::json& j, std::vector<std::string>& problems);
  nlohmann::ordered_json to_json() const;
};

struct DiTDataConfig {
  std::vector<std::string> latents;  // latent manifests (DIR/latents.jsonl), trained on together
  std::string manifest;              // or a manifest of videos, encoded with `vae` first
  std::string vae;                   // the autoencoder (needed with a manifest; decodes samples)
  // Held-out clips: a latent manifest, or a manifest of videos, cached into OUT/cache_validation
  // by the training latents' autoencoder and cut ("" = no validation).
  std::string validation;
  // With a manifest: how its videos are cut into clips as they are cached ("clip_frames",
  // "max_side", "fps"; data/clip_cut.h). Whole videos by default.
  ClipCut cut;

  static DiTDataConfig from_json(const nlohmann::json& j, std::vector<std::string>& problems);
  nlohmann::ordered_json to_json() const;
};

struct DiTRunFile {
  DiTConfig model;
  DiTRunConfig train;
  DiTDataConfig data;
};

// Reads a run config file; relative data paths (and train.out) become absolute against the
// working directory. Errors name the file and every problem.
DiTRunFile load_dit_run_config(const std::string& path);
// The trainer settings of a run's "train" section (optimizer, warm-up, clipping, seed, EMA);
// `lenient_captions`: caption words the tokenizer does not know are read as <unk>.
DiTTrainConfig trainer_config(const DiTRunConfig& train, bool lenient_captions = false);
DiTRunFile parse_dit_run_config(const std::string& json_text, const std::string& where);

// What a run found before its first step.
struct DiTRunInfo {
  int64_t start_step = 0;  // > 0 when resuming
  int64_t parameters = 0;
  int64_t clips = 0;         // latent clips trained on
  int64_t vocab = 0;         // tokens of the tokenizer (words or pieces)
  std::string latents;       // the latent manifests trained on (", " between them)
  std::string sample_vae;    // the autoencoder that decodes samples ("" without samples)
  int64_t cache_failed = 0;  // manifest clips that could not be encoded (left out)
  int processes = 1;         // training together (data parallel), each on its share of a batch
  // Resuming: the training and data settings that differ from the checkpoint's run, as
  // "train.lr 0.0003 -> 0.001" (train.steps aside: a longer run is how one is extended).
  std::vector<std::string> changed;
  // The clip of the most tokens (a step's cost grows with their square), and its latent file.
  int64_t largest_tokens = 0;
  std::string largest_clip;
  // Captions of more tokens (words, or sentencepiece pieces) than the model reads
  // (model.max_text_tokens): cut to their first tokens when trained on. How many, and the
  // longest's tokens.
  int64_t long_captions = 0, longest_caption = 0;
  int64_t caption_tokens = 0;  // the most a caption the model reads
  // Captions with words (sentencepiece: characters) the tokenizer does not know, read as <unk>:
  // a tokenizer from a file, or kept from the weights a run resumes or fine-tunes.
  int64_t unknown_captions = 0;
  int64_t uncaptioned = 0;         // clips without a caption, which train as the empty prompt
  const char* tokenizer = "word";  // its type (text/tokenizer.h)
};

struct DiTRunStatus {
  int64_t step = 0, steps = 0;  // steps done, of the run's total
  double loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0;      // this step
  double elapsed_s = 0;         // seconds of training so far, over all sessions
  std::string checkpoint;       // the checkpoint written at this step, if any
  std::string sample;           // the sample video written at this step, if any
  double validation_loss = -1;  // measured at this step (>= 0), if at all
};

struct DiTRunResult {
  int64_t start_step = 0, end_step = 0;
  bool finished = false;         // reached train.steps
  bool stopped_caching = false;  // stopped while encoding a manifest (no step taken)
  // validate_only: the weights measured (the checkpoint, else train.init) and their loss.
  std::string validated;
  int64_t validation_clips = 0;
  double validation_loss = -1;
};

struct DiTRunOptions {
  DiTRunFile config;
  std::string out_dir;     // the output folder (required)
  int64_t stop_after = 0;  // > 0: save and return after this many steps of this call
  // Measure the held-out loss of the weights the run would go on from (its checkpoint, else
  // train.init) on data.validation, as validation.csv would, and return: no step taken, nothing
  // written but the latent caches that data.manifest and a validation manifest of videos need.
  bool validate_only = false;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: save and return
  // The processes that train together (null: this one alone). Callbacks run on rank 0 only.
  ProcessGroup* group = nullptr;
  std::function<void(const CacheProgress&)> on_cache;  // encoding a manifest into the cache
  std::function<void(const DiTRunInfo&)> on_start;     // before the first step
  std::function<void(const DiTRunStatus&)> on_step;    // after every step
};

DiTRunResult train_dit(const DiTRunOptions& options);

// The train and data settings of `now` that differ from those of `saved` (both run configs as
// JSON, the checkpoint's "run_config"), as "train.lr 0.0003 -> 0.001", train.steps aside; a key
// one side lacks counts at its default (a checkpoint from before the key existed); `saved` not
// JSON (a checkpoint without a record): none.
std::vector<std::string> changed_run_settings(const std::string& saved, const std::string& now);

// Clip `index` of a run's data order over `clips` clips: each epoch visits every clip once, in
// an order drawn from (seed, epoch). A pure function of its arguments (resumable).
int64_t clip_of_run(uint64_t seed, int64_t clips, int64_t index);

}  // namespace cubist
