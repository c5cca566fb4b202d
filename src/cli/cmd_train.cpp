// `cubist train`: trains the diffusion transformer on latent clips with captions, from a config
// file (the run itself is src/train/dit_run.h); resumes from its output folder.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "models/dit/patchify.h"
#include "train/dit_run.h"

namespace cubist::cli {

namespace {

constexpr const char* kUsage =
    "usage: cubist train --config FILE [--out DIR] [--steps N] [--validate-only]\n"
    "\n"
    "Trains the diffusion transformer on latents of video clips with their captions.\n"
    "FILE (JSON; configs/dit/shapes.json is a start):\n"
    "  {\"model\": {...},  a DiT config, as configs/dit/*.json\n"
    "   \"train\": {steps, batch (clips per step, packed into one sequence), lr, warmup,\n"
    "             min_lr_ratio (cosine decay to lr * it at the last step; 1 = constant),\n"
    "             weight_decay, grad_clip, ema (EMA decay, 0 = off), seed, checkpoint_every,\n"
    "             sample_every (0 = no samples), sample_prompts [...] (default: two captions of\n"
    "             the data), sample_size \"WxH\" (default: the data's first clip's),\n"
    "             sample_frames, sample_steps, sample_guidance,\n"
    "             validate_every (1000; 0 = never), validation_clips (64),\n"
    "             init (weights a new run starts from: fine-tuning), accumulate (a step taken\n"
    "             in that many parts: less memory, the same step), shard_optimizer and\n"
    "             balance_shares (data parallel: below; docs/DIT.md),\n"
    "             out (the output folder when --out is not given)},\n"
    "   \"data\": {\"latents\": \"DIR/latents.jsonl\"}   (from `cubist vae cache`; a list of such\n"
    "           files trains on all their clips, which one encoder must have made), or\n"
    "           {\"manifest\": \"VIDEOS.jsonl\", \"vae\": \"VAE.safetensors\"}  (encoded into\n"
    "           OUT/cache first; an interrupted cache resumes; \"clip_frames\": F, \"max_side\":\n"
    "           PX, \"fps\": R cut long or large videos into clips of F frames, the longer\n"
    "           side at most PX, at R fps: docs/DIT.md, \"Training on your own videos\"),\n"
    "           and optionally \"validation\": \"HELD_OUT/latents.jsonl\" (clips not trained on;\n"
    "           or a manifest of held-out videos, cached as the training ones)}\n"
    "Relative paths in FILE are taken from the working directory (not the file's folder).\n"
    "Samples are decoded by data.vae, else by the autoencoder recorded in the latent cache, else\n"
    "by the default model's (vae.safetensors in $CUBIST_MODEL or models/shapes/).\n"
    "\n"
    "DIR receives checkpoint.safetensors (weights, EMA, AdamW moments, step, config:\n"
    "everything to resume), dit.safetensors (the EMA weights, config and tokenizer:\n"
    "what `cubist generate` loads), log.csv (step, loss, lr, grad_norm, tokens/s, elapsed),\n"
    "validation.csv (step, loss of the EMA weights on the held-out clips, the same draws each\n"
    "time), loss.svg, config.json and samples/step_NNNNNN.mp4. Running the same command\n"
    "again resumes exactly where it stopped; Ctrl-C (or SIGTERM, SIGUSR1, SIGUSR2) saves a\n"
    "checkpoint first (exit status 130 for Ctrl-C, 143 for SIGTERM, 0 for SIGUSR1/2); under\n"
    "mpirun stop with `kill -USR1 <mpirun's pid>`, which it passes on (its Ctrl-C kills the\n"
    "processes a second later). --steps N overrides train.steps (to\n"
    "extend a finished run).\n"
    "\n"
    "--validate-only measures the held-out loss (as validation.csv has it) of the weights the\n"
    "run would go on from, DIR's checkpoint or else train.init, on the first validation_clips\n"
    "of data.validation, prints it and stops: no step is taken and DIR is left as it is, but\n"
    "for the caches of videos it needs. Two sets of weights measured with one config see the\n"
    "same draws, so their losses compare.\n"
    "\n"
    "Data parallel: `mpirun -np N cubist train --config FILE` trains with N processes (on one\n"
    "machine or several; `mpirun --hostfile`), each taking its share of every step's batch\n"
    "clips; their gradients are summed, so the run takes the steps one process would with the\n"
    "whole batch (train.batch must be at least N). Every process must see the data and DIR at\n"
    "the same paths; process 0 writes DIR and prints.\n";

// Whether the held-out clips are one of the manifests trained on (the same file, however named).
bool validates_on_training_data(const DiTDataConfig& d) {
  if (d.validation.empty()) return false;
  std::vector<std::string> trained = d.latents;
  if (!d.manifest.empty()) trained.push_back(d.manifest);
  std::error_code ec;
  return std::any_of(trained.begin(), trained.end(), [&](const std::string& t) {
    return std::filesystem::equivalent(t, d.validation, ec);
  });
}

void print_start(const DiTRunInfo& info, const DiTRunOptions& o) {
  const bool words = info.tokenizer == std::string("word");  // else sentencepiece pieces
  std::printf("train: %.2f M parameters, %lld clips (%s), %lld %s; %lld steps of %lld clip(s)",
              static_cast<double>(info.parameters) / 1e6, static_cast<long long>(info.clips),
              info.latents.c_str(), static_cast<long long>(info.vocab),
              words ? "words" : "sentencepiece pieces",
              static_cast<long long>(o.config.train.steps),
              static_cast<long long>(o.config.train.batch));
  if (o.config.train.accumulate > 1)
    std::printf(" in %lld parts (train.accumulate)",
                static_cast<long long>(o.config.train.accumulate));
  if (info.processes > 1) std::printf(" over %d processes (data parallel)", info.processes);
  if (info.start_step > 0)
    std::printf("; resuming at step %lld", static_cast<long long>(info.start_step));
  else if (!o.config.train.init.empty())
    std::printf("; starting from the weights of %s", o.config.train.init.c_str());
  std::printf("\ntrain: into %s", o.out_dir.c_str());
  if (!info.sample_vae.empty()) std::printf("; samples decoded by %s", info.sample_vae.c_str());
  if (info.cache_failed > 0)
    std::printf("\ntrain: %lld clips of the manifest could not be encoded and are left out",
                static_cast<long long>(info.cache_failed));
  if (info.largest_tokens >= kSlowSequenceTokens)
    std::printf(
        "\ntrain: note: the longest clip (%s) is a sequence of %lld tokens; a step attends over "
        "all of a clip's tokens, at a cost that grows with their square, so steps will be slow. "
        "Long or large videos train as clips: data.clip_frames and data.max_side cut a manifest's "
        "videos (`cubist vae cache --clip-frames F --max-side PX` a latent cache's)",
        info.largest_clip.c_str(), static_cast<long long>(info.largest_tokens));
  if (info.long_captions > 0)
    std::printf(
        "\ntrain: note: %lld captions have more than the %lld %s the model reads (the longest "
        "%lld); it trains on their first %lld (model.max_text_tokens sets how many)",
        static_cast<long long>(info.long_captions), static_cast<long long>(info.caption_tokens),
        words ? "words" : "pieces", static_cast<long long>(info.longest_caption),
        static_cast<long long>(info.caption_tokens));
  if (info.uncaptioned > 0)
    std::printf(
        "\ntrain: note: %lld of the %lld clips have no caption; they train as the empty prompt "
        "(unconditional)%s",
        static_cast<long long>(info.uncaptioned), static_cast<long long>(info.clips),
        info.uncaptioned == info.clips
            ? ", so the model will not follow prompts (`cubist data index --captions` gives "
              "videos captions)"
            : "");
  if (info.unknown_captions > 0)
    std::printf(
        "\ntrain: note: %lld captions have %s the tokenizer does not know; the model reads "
        "them as <unk>",
        static_cast<long long>(info.unknown_captions), words ? "words" : "characters");
  if (validates_on_training_data(o.config.data))
    std::printf(
        "\ntrain: note: data.validation (%s) is also trained on, so its loss is no "
        "held-out loss; give clips the run never sees",
        o.config.data.validation.c_str());
  for (const std::string& c : info.changed)
    std::printf("\ntrain: changed since the checkpoint: %s (the run goes on with the new value)",
                c.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int cmd_train(int argc, char** argv) {
  Args args(argc, argv);
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string config = args.required("--config");
  const std::string out = args.str("--out", "");
  const bool steps_given = args.has("--steps");  // before integer() takes it
  const int64_t steps = args.integer("--steps", 0);
  const bool validate_only = args.flag("--validate-only");
  if (!args.positional().empty()) throw UsageError("train takes no positional arguments");
  args.finish();
  if (steps_given && steps < 1)
    throw UsageError("--steps " + std::to_string(steps) +
                     ": give the step to train to, 1 or more (default: the config's train.steps)");

  DiTRunOptions o;
  o.config = load_dit_run_config(config);
  if (steps > 0) o.config.train.steps = steps;
  o.out_dir = out.empty() ? o.config.train.out : out;
  if (o.out_dir.empty())
    throw UsageError("give the output folder: --out DIR, or \"out\" in the config's \"train\"");
  o.validate_only = validate_only;
  o.group = &world();
  if (validate_only) {
    const DiTRunResult r = train_dit(o);
    if (o.group->rank() != 0) return 0;
    std::printf("train: held-out loss %.6g on %lld clips of %s (the ", r.validation_loss,
                static_cast<long long>(r.validation_clips), o.config.data.validation.c_str());
    if (r.end_step > 0)
      std::printf("EMA weights of %s at step %lld)\n", r.validated.c_str(),
                  static_cast<long long>(r.end_step));
    else
      std::printf("weights of %s)\n", r.validated.c_str());
    return 0;
  }
  o.stop = stop_on_signals();

  CacheBar cache_bar("encode");  // the training videos, then any held-out ones
  std::unique_ptr<Progress> bar;
  o.on_cache = [&](const CacheProgress& p) {
    if (!p.error.empty())
      std::fprintf(stderr, "\ntrain: left out %s: %s\n", p.path.c_str(), p.error.c_str());
    if (p.handled && !p.note.empty())
      std::fprintf(stderr, "\ntrain: %s: %s\n", p.path.c_str(), p.note.c_str());
    cache_bar.report(p);
    if (p.done == p.total && p.handled) cache_bar.finish();
  };
  o.on_start = [&](const DiTRunInfo& info) {
    print_start(info, o);
    bar = std::make_unique<Progress>("train", o.config.train.steps, "step");
  };
  double smoothed = -1, validation = -1;
  o.on_step = [&](const DiTRunStatus& s) {
    smoothed = smoothed < 0 ? s.loss : 0.98 * smoothed + 0.02 * s.loss;
    if (s.validation_loss >= 0) validation = s.validation_loss;
    char val[32] = "", info[128];
    if (validation >= 0) std::snprintf(val, sizeof val, " val %.4f", validation);
    std::snprintf(info, sizeof info, "loss %.4f%s %.0f tok/s", smoothed, val, s.tokens_per_s);
    if (!s.sample.empty()) std::fprintf(stderr, "\ntrain: sample %s\n", s.sample.c_str());
    bar->update(s.step, info);
  };
  const DiTRunResult r = train_dit(o);
  if (o.group->rank() != 0) return 0;  // rank 0 reports for all
  if (r.finished && r.start_step >= o.config.train.steps) {
    std::printf(
        "train: %s was already at step %lld, where %lld steps were asked; nothing was "
        "trained (a larger --steps goes on from it)\n",
        o.out_dir.c_str(), static_cast<long long>(r.start_step),
        static_cast<long long>(o.config.train.steps));
  } else if (r.finished) {
    if (bar) bar->finish();
    std::printf("train: done at step %lld; model in %s/dit.safetensors, log in %s/log.csv\n",
                static_cast<long long>(r.end_step), o.out_dir.c_str(), o.out_dir.c_str());
  } else if (r.stopped_caching) {
    std::printf(
        "\ntrain: stopped while encoding the data into %s/cache; run the same command "
        "to resume\n",
        o.out_dir.c_str());
  } else {
    std::printf(
        "\ntrain: stopped at step %lld (checkpoint saved); run the same command to "
        "resume\n",
        static_cast<long long>(r.end_step));
  }
  return r.finished ? 0 : stop_status();
}

}  // namespace cubist::cli
