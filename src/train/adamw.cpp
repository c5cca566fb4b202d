#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/adam.h"
#include "ops/elementwise.h"

namespace cubist {

AdamW::AdamW(std::vector<NamedParam> params, AdamWConfig config)
    : params_(std::move(params)), config_(config) {
  for (const NamedParam& p : params_) {
    CUBIST_CHECK(p.var.defined() && p.var.value().dtype() == DType::F32, "AdamW: parameter '",
                 p.name, "' must be a defined f32 tensor");
    // Made at a parameter's first update (or load), so that a sharded process never touches
    // the memory of the moments it does not keep.
    m_.emplace_back();
    v_.emplace_back();
  }
}

void AdamW::shard(ProcessGroup& group) {
  if (group.size() == 1) return;
  group_ = &group;
  owner_ = owners(params_, group.size());
  for (size_t i = 0; i < params_.size(); ++i)
    if (!keeps(i)) m_[i] = Tensor(), v_[i] = Tensor();  // loaded before: freed
}

void AdamW::step(float lr) {
  if (lr <= 0) lr = config_.lr;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i].var;
    if (!p.grad().defined() || !keeps(i)) continue;
    const float decay = params_[i].decay ? 1.0f - lr * config_.weight_decay : 1.0f;
    if (!m_[i].defined()) m_[i] = Tensor::zeros(p.shape()), v_[i] = Tensor::zeros(p.shape());
    ops::adam_update_(p.value(), p.grad(), m_[i], v_[i],
                      {.lr = lr,
                       .beta1 = config_.beta1,
                       .beta2 = config_.beta2,
                       .eps = config_.eps,
                       .decay = decay,
                       .step = step_});
  }
  if (sharded()) share_updated_weights();
}

// Each owner broadcasts the weights it updated, packed in buckets (in_buckets): a few
// collectives a step, and a buffer of one bucket. (A parameter without a gradient is unchanged
// everywhere, and travels anyway: every process must agree on the buckets.)
void AdamW::share_updated_weights() {
  for (int r = 0; r < group_->size(); ++r) {
    std::vector<Tensor> owned;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < params_.size(); ++i)
      if (owner_[i] == r)
        owned.push_back(params_[i].var.value()), sizes.push_back(owned.back().numel());
    const bool mine = r == group_->rank();
    in_buckets(
        sizes, kBucketFloats,
        [&](size_t t, int64_t begin, int64_t n, float* dst) {
          if (mine) std::copy_n(owned[t].data<float>() + begin, n, dst);
        },
        [&](float* data, int64_t n) { group_->broadcast(data, n, r); },
        [&](size_t t, int64_t begin, int64_t n, float* src) {
          if (!mine) std::copy_n(src, n, owned[t].data<float>() + begin);
        });
  }
}

void AdamW::zero_grad() {
  for (NamedParam& p : params_) p.var.grad() = Tensor();
}

void AdamW::for_each_moment(const MomentSink& sink) const {
  const bool root = !sharded() || group_->rank() == 0;
  for (size_t i = 0; i < params_.size(); ++i)
    for (auto [prefix, moment] : {std::pair{"adam.m.", &m_[i]}, std::pair{"adam.v.", &v_[i]}}) {
      const std::string name = prefix + params_[i].name;
      const Dims& shape = params_[i].var.shape();
      // A moment not made yet (no update so far) is zeros.
      if (!sharded() || owner_[i] == 0) {  // rank 0 has it already
        if (root) sink(name, moment->defined() ? *moment : Tensor::zeros(shape));
        continue;
      }
      // Its owner sends it, one parameter's worth at a time; the others receive into zeros.
      Tensor t = keeps(i) && moment->defined() ? moment->contiguous() : Tensor::zeros(shape);
      group_->broadcast(t.data<float>(), t.numel(), owner_[i]);
      if (root) sink(name, t);
    }
}

NamedTensors AdamW::state() const {
  NamedTensors out;
  for_each_moment([&](const std::string& name, const Tensor& t) { out.push_back({name, t}); });
  return out;
}

std::vector<TensorSpec> AdamW::state_specs() const {
  std::vector<TensorSpec> out;
  for (const NamedParam& p : params_)
    for (const char* prefix : {"adam.m.", "adam.v."})
      out.push_back({prefix + p.name, p.var.shape(), DType::F32});
  return out;
}

void AdamW::load_state(const SafeTensors& file, int64_t step) {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!keeps(i)) continue;
    for (auto [prefix, dst] : {std::pair{"adam.m.", &m_[i]}, std::pair{"adam.v.", &v_[i]}}) {
      const std::string name = prefix + params_[i].name;
      CUBIST_CHECK(file.contains(name), file.path(), ": optimizer state '", name, "' is missing");
      Tensor t = file.get(name);
      const Dims& shape = params_[i].var.shape();
      CUBIST_CHECK(t.shape() == shape, file.path(), ": optimizer state '", name, "' has shape ",
                   t.shape(), ", the parameter has ", shape);
      *dst = Tensor::zeros(shape);
      dst->copy_(t);
    }
  }
  step_ = step;
}

void save_checkpoint(const std::string& path, const NamedTensors& tensors, const AdamW& opt,
                     const std::map<std::string, std::string>& metadata, bool write) {
  if (!write) return opt.for_each_moment([](const std::string&, const Tensor&) {});
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) specs.push_back({name, t.shape(), t.dtype()});
  const std::vector<TensorSpec> moments = opt.state_specs();
  specs.insert(specs.end(), moments.begin(), moments.end());
  SafeTensorsWriter file(path, specs, metadata);
  for (const auto& [name, t] : tensors) file.write(t);
  opt.for_each_moment([&](const std::string&, const Tensor& m) { file.write(m); });
  file.close();
}

float clip_grad_norm(const std::vector<NamedParam>& params, float max_norm) {
  double sq = 0;
  for (const NamedParam& p : params)
    if (p.var.grad().defined()) sq += ops::sum_squares(p.var.grad());
  const float norm = static_cast<float>(std::sqrt(sq));
  CUBIST_CHECK(std::isfinite(norm), "clip_grad_norm: the gradient norm is ", norm,
               " (a NaN or Inf gradient); the step is refused so the weights stay intact");
  if (max_norm > 0 && norm > max_norm) {
    const float s = max_norm / (norm + 1e-6f);
    for (const NamedParam& p : params)
      if (p.var.grad().defined()) {
        Tensor g = p.var.grad();
        ops::scale_(g, s);
      }
  }
  return norm;
}

}  // namespace cubist
