#include "nn/module.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "core/dtype.h"
#include "core/error.h"

namespace cubist {

Var& Module::param(const std::string& name, Tensor init, bool decay) {
  params_.push_back({name, Var(std::move(init), true), decay});
  return params_.back().var;
}

void Module::child(const std::string& name, Module& m) { children_.push_back({name, &m}); }

void Module::collect(const std::string& prefix, std::vector<NamedParam>& out) const {
  for (const NamedParam& p : params_) out.push_back({prefix + p.name, p.var, p.decay});
  for (const auto& [name, m] : children_) m->collect(prefix + name + ".", out);
}

std::vector<NamedParam> Module::parameters() const {
  std::vector<NamedParam> out;
  collect("", out);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const NamedParam& p : parameters()) n += p.var.value().numel();
  return n;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (const NamedParam& p : parameters()) out.push_back({p.name, p.var.value()});
  return out;
}

ConstantWeights::ConstantWeights(const Module& m) : params_(m.parameters()) {
  for (NamedParam& p : params_) {
    was_.push_back(p.var.requires_grad());
    p.var.set_requires_grad(false);
  }
}

ConstantWeights::~ConstantWeights() {
  for (size_t i = 0; i < params_.size(); ++i) params_[i].var.set_requires_grad(was_[i]);
}

namespace {

std::string fingerprint_of(const std::vector<NamedParam>& params, bool at_bf16) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, 64-bit
  const auto mix = [&h](const void* data, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 0x100000001b3ull;
  };
  for (const NamedParam& p : params) {
    mix(p.name.data(), p.name.size() + 1);  // the terminating 0 separates name from values
    std::vector<float> v = p.var.value().to_vector();
    if (at_bf16)
      for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
    mix(v.data(), v.size() * sizeof(float));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

std::string Module::fingerprint() const { return fingerprint_of(parameters(), false); }

std::string Module::fingerprint_at_bf16() const { return fingerprint_of(parameters(), true); }

void Module::load_state_dict(const SafeTensors& file) {
  for (NamedParam& p : parameters()) {
    CUBIST_CHECK(file.contains(p.name), file.path(), ": parameter '", p.name,
                 "' is missing (a checkpoint of another architecture?)");
    const Tensor t = file.get(p.name);
    CUBIST_CHECK(t.shape() == p.var.shape(), file.path(), ": parameter '", p.name, "' has shape ",
                 t.shape(), " but this model expects ", p.var.shape(),
                 " (a checkpoint of another configuration?)");
    p.var.value().copy_(t);
  }
}

Tensor xavier_uniform(const Dims& shape, Generator& gen) {
  CUBIST_CHECK(shape.size() == 2, "xavier_uniform: expects [fan_out, fan_in], got ", shape);
  const float bound = std::sqrt(6.0f / static_cast<float>(shape[0] + shape[1]));
  Tensor t = Tensor::empty(shape);
  gen.uniform_(t, -bound, bound);
  return t;
}

Tensor normal_init(const Dims& shape, float std, Generator& gen) {
  Tensor t = Tensor::empty(shape);
  gen.normal_(t, 0.0f, std);
  return t;
}

}  // namespace cubist
