// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam moments with the
// weight decay applied to the weights directly, not through the gradient. Plus global-norm
// gradient clipping, which scales all gradients together when their joint L2 norm is too large.
//
// Under data parallelism the moments can be sharded over the processes (ZeRO stage 1,
// Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
// Models"): every process still sums the whole gradient, but keeps the moments of, and updates,
// only the parameters it owns (about 1/N of them), and then each owner sends its updated weights
// to the others. The moments are two copies of the model, so a process holds 2/N of them where
// it held 2; the steps are the unsharded steps bit for bit (each weight's update is the same
// arithmetic, done once, and copied).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "io/safetensors.h"
#include "nn/module.h"
#include "train/process_group.h"

namespace cubist {

struct AdamWConfig {
  float lr = 1e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

class AdamW {
 public:
  AdamW(std::vector<NamedParam> params, AdamWConfig config);

  // Shards the moments over `group` (every process calls it, before load_state): from here on
  // this process keeps the moments of the parameters it owns (owners()) and frees the others';
  // step() and state() become collective. A group of one process changes nothing.
  void shard(ProcessGroup& group);
  bool sharded() const { return group_ != nullptr; }

  // One update from the parameters' accumulated gradients (a parameter with no gradient is
  // skipped). lr overrides config.lr when positive (for schedules). Sharded, every process
  // calls it: each updates the parameters it owns and receives the others' from their owners.
  void step(float lr = -1.0f);
  void zero_grad();
  int64_t steps() const { return step_; }
  const AdamWConfig& config() const { return config_; }
  const std::vector<NamedParam>& params() const { return params_; }

  // The moments, for checkpoints: "adam.m.<name>", "adam.v.<name>"; the step count travels in
  // the checkpoint's metadata. Sharded, every process calls it and the owners send their
  // moments to rank 0, which gets them all (the others get none): a checkpoint is the same file
  // whether its run was sharded or not, and resumes with any number of processes.
  NamedTensors state() const;
  // The same one moment at a time, in state()'s order, each passed to `sink` on rank 0 (every
  // process calls it): a checkpoint writes each as it arrives (SafeTensorsWriter), so rank 0
  // never holds the other processes' moments at once. state_specs() lists them for the header.
  using MomentSink = std::function<void(const std::string& name, const Tensor& moment)>;
  void for_each_moment(const MomentSink& sink) const;
  std::vector<TensorSpec> state_specs() const;
  // Reads the moments of the parameters this process keeps (all of them unless sharded).
  void load_state(const SafeTensors& file, int64_t step);

 private:
  bool keeps(size_t i) const { return owner_.empty() || owner_[i] == group_->rank(); }
  void share_updated_weights();

  std::vector<NamedParam> params_;
  std::vector<Tensor> m_, v_;  // undefined for the parameters another process owns
  ProcessGroup* group_ = nullptr;
  std::vector<int> owner_;  // sharded: the rank that owns each parameter
  AdamWConfig config_;
  int64_t step_ = 0;
};

// A checkpoint: `tensors`, then the optimizer's moments, written to `path` as they arrive from
// their owners (AdamW::for_each_moment). Collective when the optimizer is sharded: every process
// calls it, and only the one passing `write` (rank 0) writes.
void save_checkpoint(const std::string& path, const NamedTensors& tensors, const AdamW& opt,
                     const std::map<std::string, std::string>& metadata, bool write = true);

// Scales every gradient by min(1, max_norm / total_norm) and returns total_norm, the L2 norm of
// all gradients together. A non-finite norm throws Error (a NaN or Inf gradient would destroy the
// weights); max_norm <= 0 only measures.
float clip_grad_norm(const std::vector<NamedParam>& params, float max_norm);

}  // namespace cubist
