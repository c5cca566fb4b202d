#include "train/adamw.h"

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
    m_.push_back(Tensor::zeros(p.var.shape()));
    v_.push_back(Tensor::zeros(p.var.shape()));
  }
}

void AdamW::step(float lr) {
  if (lr <= 0) lr = config_.lr;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Var& p = params_[i].var;
    if (!p.grad().defined()) continue;
    const float decay = params_[i].decay ? 1.0f - lr * config_.weight_decay : 1.0f;
    ops::adam_update_(p.value(), p.grad(), m_[i], v_[i],
                      {.lr = lr,
                       .beta1 = config_.beta1,
                       .beta2 = config_.beta2,
                       .eps = config_.eps,
                       .decay = decay,
                       .step = step_});
  }
}

void AdamW::zero_grad() {
  for (NamedParam& p : params_) p.var.grad() = Tensor();
}

NamedTensors AdamW::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.push_back({"adam.m." + params_[i].name, m_[i]});
    out.push_back({"adam.v." + params_[i].name, v_[i]});
  }
  return out;
}

void AdamW::load_state(const SafeTensors& file, int64_t step) {
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto [prefix, dst] : {std::pair{"adam.m.", &m_[i]}, std::pair{"adam.v.", &v_[i]}}) {
      const std::string name = prefix + params_[i].name;
      CUBIST_CHECK(file.contains(name), file.path(), ": optimizer state '", name, "' is missing");
      Tensor t = file.get(name);
      CUBIST_CHECK(t.shape() == dst->shape(), file.path(), ": optimizer state '", name,
                   "' has shape ", t.shape(), ", the parameter has ", dst->shape());
      dst->copy_(t);
    }
  }
  step_ = step;
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
