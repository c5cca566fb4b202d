// Training the diffusion transformer on latent clips with captions: rectified-flow loss over a
// packed batch of any sizes (diffusion/dit_flow.h), AdamW with linear warm-up, global-norm
// clipping, and checkpoints that resume the exact same run (weights, optimizer moments, step,
// random stream, config and tokenizer in one safetensors file). The library does not print:
// step() returns what a command line shows. Latents come from the video autoencoder (or any
// [C, T, H, W] tensors); encoding videos is the caller's job.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/dit/dit.h"
#include "models/text/tokenizer.h"
#include "train/adamw.h"

namespace cubist {

struct DiTTrainConfig {
  AdamWConfig adam{.lr = 1e-4f, .weight_decay = 0.0f};
  int64_t warmup_steps = 100;     // the learning rate rises linearly over these steps
  float grad_clip = 1.0f;         // max global gradient norm; <= 0 only measures
  uint64_t seed = 0;              // times, noise and caption dropout
  bool lenient_captions = false;  // unknown caption words become <unk> instead of an Error
};

struct DiTTrainStats {
  int64_t step = 0;  // steps done, this one included
  float loss = 0, grad_norm = 0, lr = 0;
  int64_t tokens = 0;   // tokens in the packed batch
  int64_t dropped = 0;  // captions replaced by the empty prompt
};

class DiTTrainer {
 public:
  // A new model from the config (text.vocab is set from the tokenizer), initialised from seed.
  DiTTrainer(const DiTConfig& config, text::Tokenizer tokenizer, DiTTrainConfig train,
             uint64_t init_seed = 0);

  // One optimisation step on clips latents[i] [C, T, H, W] (sizes may differ) with captions[i].
  DiTTrainStats step(const std::vector<Tensor>& latents, const std::vector<std::string>& captions);

  // One file: "model.*" weights, "adam.*" moments; metadata "step", "rng_offset", "dit_config",
  // "tokenizer". load() checks that the architecture matches and resumes the same run.
  void save(const std::string& path) const;
  void load(const std::string& path);

  const DiT& model() const { return *model_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  int64_t steps() const { return opt_->steps(); }
  float lr_at(int64_t step) const;  // the schedule: warm-up, then constant

 private:
  DiTConfig config_;
  text::Tokenizer tokenizer_;
  DiTTrainConfig train_;
  std::unique_ptr<DiT> model_;
  std::unique_ptr<AdamW> opt_;
  Generator gen_;
};

// Reads a model (weights, config, tokenizer) from a trainer checkpoint, for generation.
struct LoadedDiT {
  std::unique_ptr<DiT> model;
  text::Tokenizer tokenizer;
};
LoadedDiT load_dit_checkpoint(const std::string& path);

}  // namespace cubist
