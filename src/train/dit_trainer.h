// Training the diffusion transformer on latent clips with captions: rectified-flow loss over a
// packed batch of any sizes (diffusion/dit_flow.h), AdamW with warm-up and decay, global-norm
// clipping, an optional moving average of the weights (train/ema.h) for sampling, and
// checkpoints that resume the exact same run (weights, EMA, optimizer moments, step, random
// stream, config and tokenizer in one safetensors file). The library does not print:
// step() returns what a command line shows. Latents come from the video autoencoder (or any
// [C, T, H, W] tensors); encoding videos is the caller's job.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "models/dit/dit.h"
#include "models/text/tokenizer.h"
#include "train/adamw.h"
#include "train/ema.h"
#include "train/process_group.h"

namespace cubist {

struct DiTTrainConfig {
  AdamWConfig adam{.lr = 1e-4f, .weight_decay = 0.0f};
  int64_t warmup_steps = 100;     // the learning rate rises linearly over these steps,
  int64_t total_steps = 0;        // then decays along a cosine until the last of these steps
  float min_lr_ratio = 1.0f;      // to lr * min_lr_ratio; 1 = constant after warm-up
  float grad_clip = 1.0f;         // max global gradient norm; <= 0 only measures
  uint64_t seed = 0;              // times, noise and caption dropout
  bool lenient_captions = false;  // unknown caption words become <unk> instead of an Error
  float ema_decay = 0.0f;         // moving average of the weights (train/ema.h); 0 = none
  // A step's clips (each process's share of them) are taken in this many parts, one forward and
  // backward at a time, their gradients summed: memory holds one part's activations, and the
  // step is the one the whole batch makes (to rounding).
  int64_t accumulate = 1;
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
  // The times, noise, dropped captions and frame masks of a clip are drawn from (seed, step,
  // its place in the step's clips). Data parallel: each process of `group` passes its share of
  // the step's clips with their places in the step (`places`; empty: 0, 1, ...); their
  // gradients are summed, weighted by each share of the loss, so every process takes the step
  // that one process would take on all the clips (up to the order of float sums), and the stats
  // are the whole step's.
  DiTTrainStats step(const std::vector<Tensor>& latents, const std::vector<std::string>& captions,
                     ProcessGroup* group = nullptr, const std::vector<int64_t>& places = {});
  // The training objective of the sampling weights on held-out clips, `batch` clips to a packed
  // sequence, without a step: times, noise, dropped captions and frame masks are drawn from
  // `seed` alone, the same at every call, so that values at different steps compare. The mean of
  // the batches' losses weighted by their clips. Changes no weights. Unknown caption words become
  // <unk>.
  float validation_loss(const std::vector<Tensor>& latents,
                        const std::vector<std::string>& captions, int64_t batch,
                        uint64_t seed) const;

  // One file: "model.*" weights, "ema.*" averaged weights (with EMA), "adam.*" moments; metadata
  // "step", "dit_config", "tokenizer", "ema_decay", plus `extra`. load() checks
  // that the architecture and vocabulary match and resumes the same run (a checkpoint without
  // "ema.*" starts the average from its weights). With the optimizer sharded, every process
  // calls save() (the moments come to rank 0) and only the one passing `write` (rank 0) writes.
  void save(const std::string& path, const std::map<std::string, std::string>& extra = {},
            bool write = true) const;
  // Data parallel: the optimizer's moments sharded over the group (AdamW::shard). Every process
  // calls it, before load().
  void shard_optimizer(ProcessGroup& group) { opt_->shard(group); }
  void load(const std::string& path);
  // Fine-tuning: the weights of another run (a checkpoint's "model.*", or what save_weights
  // wrote) as this one's starting point; the optimizer, step and EMA start afresh. The
  // architecture and vocabulary must match; the latent normalization may differ (a retrained
  // autoencoder), and this trainer's is kept.
  void load_weights(const std::string& path);
  // What generation loads (load_dit_checkpoint): the sampling weights as "model.*" with the
  // metadata "dit_config", "tokenizer", "step", "weights" ("ema" or "last"), plus `extra`.
  void save_weights(const std::string& path,
                    const std::map<std::string, std::string>& extra = {}) const;

  const DiT& model() const { return *model_; }
  // The weights to sample from: the moving average with EMA, else the model itself.
  const DiT& sampling_model() const { return ema_model_ ? *ema_model_ : *model_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  int64_t steps() const { return opt_->steps(); }
  float lr_at(int64_t step) const;  // the schedule: warm-up, then constant or cosine decay

 private:
  std::map<std::string, std::string> metadata(
      const std::map<std::string, std::string>& extra) const;
  // Throws unless the file holds this trainer's model: the same config (when `fine_tuning`, the
  // training constants aside) and the same tokenizer vocabulary; the error names each key that
  // differs.
  void check_same_model(const SafeTensors& f, const std::string& path, bool fine_tuning) const;
  void restart_ema();  // the moving average starts again from the current weights

  DiTConfig config_;
  text::Tokenizer tokenizer_;
  DiTTrainConfig train_;
  std::unique_ptr<DiT> model_;
  std::unique_ptr<AdamW> opt_;
  std::unique_ptr<DiT> ema_model_;  // the averaged weights, when train.ema_decay > 0
  std::unique_ptr<Ema> ema_;
};

// Reads a model (weights, config, tokenizer) from a trainer checkpoint, for generation.
// The keys of a model config (models/dit/config.h) that only training reads: the scaling of the
// data, the draws of times, dropped captions and frame masks. Fine-tuning may change them.
extern const std::set<std::string> kTrainingConstants;

// "key before -> after" for each top-level key whose value differs between two model configs'
// JSON (dit_config_json), the training constants left out when `skip_training_constants`.
std::vector<std::string> config_differences(const std::string& was, const std::string& is,
                                            bool skip_training_constants);

struct LoadedDiT {
  std::unique_ptr<DiT> model;
  text::Tokenizer tokenizer;
};
// The model of a weights file (dit.safetensors) or a checkpoint, whose moving average of the
// weights (EMA) is loaded where it has one, as samples and the exported weights use it.
LoadedDiT load_dit_checkpoint(const std::string& path);

}  // namespace cubist
