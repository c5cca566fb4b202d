#include "train/ema.h"

#include <algorithm>

#include "core/error.h"
#include "ops/elementwise.h"

namespace cubist {

Ema::Ema(std::vector<NamedParam> live, std::vector<NamedParam> shadow, float decay)
    : live_(std::move(live)), shadow_(std::move(shadow)), decay_(decay) {
  CUBIST_CHECK(decay >= 0.0f && decay < 1.0f, "EMA: decay must be in [0, 1), got ", decay);
  CUBIST_CHECK(live_.size() == shadow_.size(), "EMA: ", live_.size(), " parameters but ",
               shadow_.size(), " in the shadow model");
  for (size_t i = 0; i < live_.size(); ++i) {
    CUBIST_CHECK(live_[i].name == shadow_[i].name && live_[i].var.shape() == shadow_[i].var.shape(),
                 "EMA: parameter ", live_[i].name, " ", live_[i].var.shape(),
                 " does not match the shadow's ", shadow_[i].name, " ", shadow_[i].var.shape());
    Tensor dst = shadow_[i].var.value();
    dst.copy_(live_[i].var.value());
  }
}

float Ema::decay_at(int64_t n) const {
  return std::min(decay_, static_cast<float>(n) / static_cast<float>(n + 9));
}

void Ema::update() {
  const float d = decay_at(++updates_);
  for (size_t i = 0; i < live_.size(); ++i) {
    Tensor s = shadow_[i].var.value();
    ops::scale_(s, d);
    ops::axpy_(s, 1.0f - d, live_[i].var.value());
  }
}

NamedTensors Ema::state() const {
  NamedTensors out;
  for (const NamedParam& p : shadow_) out.push_back({"ema." + p.name, p.var.value()});
  return out;
}

void Ema::load_state(const SafeTensors& file, int64_t updates) {
  for (const NamedParam& p : shadow_) {
    const std::string name = "ema." + p.name;
    CUBIST_CHECK(file.contains(name), file.path(), ": no EMA weights '", name,
                 "' (a checkpoint of a run without EMA, or of another architecture?)");
    const Tensor t = file.get(name);
    CUBIST_CHECK(t.shape() == p.var.shape(), file.path(), ": '", name, "' has shape ", t.shape(),
                 " but this model expects ", p.var.shape());
    Tensor dst = p.var.value();  // shares the parameter's storage
    dst.copy_(t);
  }
  updates_ = updates;
}

}  // namespace cubist
