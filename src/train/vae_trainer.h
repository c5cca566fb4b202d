// Training the video autoencoder: clips from a source (Shapes World generated in memory, or a
// manifest of video files), loss = MSE(reconstruction, clip) + kl_weight * KL, AdamW with warmup
// and cosine decay, gradient clipping; checkpoints that resume exactly; a CSV log and an SVG
// loss curve. Library code: it reports through a callback and never prints.
//
// The output folder holds:
//   checkpoint.safetensors  weights + AdamW moments; metadata: format, vae_config, train_config,
//                           step, elapsed_s (written atomically every
//                           checkpoint_every steps, at the end, and when asked to stop)
//   vae.safetensors         weights only (what `cubist vae encode/decode` take), same metadata
//   log.csv                 step,loss,mse,kl,psnr,lr,grad_norm,clips_per_s,val_psnr,elapsed_s
//   loss.svg                the loss and held-out PSNR curves
// Starting again on a folder that holds a checkpoint resumes from it: clip i of the run and its
// posterior noise are pure functions of (seed, i), so the resumed run continues the same loss
// curve as an uninterrupted one (at a fixed thread count).
//
// Data parallel (`mpirun -np N cubist vae train ...`, train/process_group.h): each process
// takes its share of every step's train.batch clips and the gradients are summed over the
// processes, so N processes take the steps one would take; rank 0 writes the folder, measures
// the held-out PSNR and calls back.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/video.h"
#include "models/vae/config.h"

namespace cubist {

class ProcessGroup;

struct VaeTrainConfig {
  int64_t steps = 6000;
  int64_t batch = 1;  // clips per optimizer step (gradients accumulated: clip sizes differ)
  float lr = 2e-4f;   // 5e-4 and more stall near 18 dB held-out PSNR (docs/VAE.md)
  float min_lr_ratio = 0.05f;  // cosine decay from lr to lr * min_lr_ratio at the last step
  int64_t warmup = 100;        // linear warmup steps
  float weight_decay = 0.0f;
  float clip_grad = 1.0f;  // global gradient norm limit; 0 = none
  float kl_weight = 1e-6f;
  std::string sizes = "64x64,96x64,64x96";  // Shapes World clip sizes (WxH)
  std::string frames = "1,5,9";  // frame counts drawn from (the model is causal and convolutional:
                                 // it runs on longer clips than it trained on)
  uint64_t seed = 1;
  int64_t checkpoint_every = 500;
  int64_t eval_every = 500;  // held-out PSNR every so many steps (0 = never)
  int64_t eval_clips = 8;
  int64_t max_side = 256;  // manifest clips are cropped to at most this many pixels a side
  // Manifest videos are first read as `vae cache --max-side PX --fps R` reads them for the
  // transformer (data/clip_cut.h), so the autoencoder learns the scale and motion it will
  // encode: scaled down so the longer side is at most read_max_side, at read_fps frames a
  // second. 0: the native size and rate.
  int64_t read_max_side = 0;
  double read_fps = 0.0;
  // Fine-tuning: the weights a new run starts from (a vae.safetensors or checkpoint of the same
  // model config; the optimizer starts fresh). Ignored when the folder holds a checkpoint.
  std::string init;
  // Train the decoder only. The latents depend on the encoder alone, so a decoder fine-tuned
  // this way decodes the same latent space better: latent caches and a transformer trained on
  // them stay valid (as Stable Diffusion's fine-tuned decoders were drop-in replacements).
  bool freeze_encoder = false;
  // Data parallel: the optimizer's moments sharded over the processes (ZeRO stage 1,
  // train/adamw.h), each keeping 1/N of them; the steps are the same either way.
  bool shard_optimizer = true;
  // Data parallel: each step's clips dealt to the processes by their pixels (balanced_shares),
  // so that none waits long for another; false deals them in order, equal numbers to each.
  bool balance_shares = true;

  // The "train" object of a config file (or the whole object); unknown fields are errors.
  static VaeTrainConfig from_json(const nlohmann::json& j);
  nlohmann::ordered_json to_json() const;
};

// Where clips come from. clip(i) depends only on i (and the source's own settings), so a run's
// data order is reproducible and resumable.
class ClipSource {
 public:
  virtual ~ClipSource() = default;
  virtual Video clip(uint64_t index) const = 0;
  // The pixels of clip(index) (frames x height x width), known without making it, to deal a
  // step's clips to processes by their work; an estimate where the source cannot know it.
  virtual double pixels(uint64_t index) const = 0;
  virtual std::string describe() const = 0;
};

// Shapes World clips rendered in memory: clip i is shapes::make_clip(seed, i, sizes, frames).
std::unique_ptr<ClipSource> shapes_clip_source(uint64_t seed, const std::string& sizes,
                                               const std::string& frames);
// Clips from a JSONL manifest: clip i reads entry (random under seed, i), takes a window of
// 1 + tf k frames (the longest allowed by `frames`' largest count and the video) at a random
// start, and crops a random window whose sides are multiples of the spatial factor and at most
// max_side. Only the frames up to the window's end are decoded.
std::unique_ptr<ClipSource> manifest_clip_source(const std::string& manifest,
                                                 const VaeConfig& model,
                                                 const VaeTrainConfig& train);

struct VaeTrainOptions {
  std::string out_dir;
  VaeConfig model;
  VaeTrainConfig train;
  std::string manifest;    // empty: Shapes World generated in memory
  std::string held_out;    // videos for the held-out PSNR; empty: other draws of the data
  int64_t stop_after = 0;  // > 0: save and return after this many steps of this call
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: save and return
  // The processes that train together (null: this one alone); the callback runs on rank 0.
  ProcessGroup* group = nullptr;
};

struct VaeTrainStatus {
  int64_t step = 0, steps = 0;  // steps done, of the run's total
  double loss = 0, mse = 0, kl = 0, psnr = 0, lr = 0, grad_norm = 0;
  double clips_per_s = 0, frames_per_s = 0;  // this step
  double val_psnr = -1;                      // held-out PSNR when evaluated at this step, else -1
  double elapsed_s = 0;    // seconds of training (steps and evaluations) so far, over all sessions
  std::string checkpoint;  // the file written at this step, if any
};

struct VaeTrainResult {
  int64_t start_step = 0;  // > 0 when the run resumed
  int64_t end_step = 0;
  bool finished = false;  // reached train.steps
  double last_val_psnr = -1;
};

using VaeTrainCallback = std::function<void(const VaeTrainStatus&)>;

VaeTrainResult train_vae(const VaeTrainOptions& options, const VaeTrainCallback& on_step = {});

// The mean PSNR (dB, 8-bit) of the model's reconstructions of clips 0..n-1 of a source.
class Vae;
double reconstruction_psnr(const Vae& vae, const ClipSource& source, int64_t clips);

}  // namespace cubist
