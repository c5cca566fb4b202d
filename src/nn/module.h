// Module: a piece of a model with named parameters and named children, as in torch.nn.Module.
// Parameters are Vars that require gradients; parameters() lists them all with dotted names
// ("blocks.0.attn.qkv.weight"), which are also their names in safetensors checkpoints.
// Modules own their children as members and register them by pointer, so a Module is neither
// copied nor moved.
#pragma once

#include <string>
#include <vector>

#include "autograd/var.h"
#include "core/rng.h"
#include "io/safetensors.h"

namespace cubist {

struct NamedParam {
  std::string name;
  Var var;
  bool decay = true;  // false for biases and norm gains, which are conventionally not decayed
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  std::vector<NamedParam> parameters() const;
  int64_t num_parameters() const;
  NamedTensors state_dict() const;
  // 16 hex digits (64-bit FNV-1a over every parameter's name and f32 values) that tell two sets
  // of weights apart: the latent cache records it to refuse latents of other weights.
  std::string fingerprint() const;
  // The same over the values rounded to bf16: equal for weights and their bf16 export (`cubist
  // export --bf16`), so a file can be matched to the model it came from at either precision.
  std::string fingerprint_at_bf16() const;
  // Copies every parameter from a file; a missing tensor or a shape that differs is an Error
  // naming the tensor, both shapes and the file (a checkpoint of another architecture).
  void load_state_dict(const SafeTensors& file);

 protected:
  Var& param(const std::string& name, Tensor init, bool decay = true);
  void child(const std::string& name, Module& m);

 private:
  void collect(const std::string& prefix, std::vector<NamedParam>& out) const;
  std::vector<NamedParam> params_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// RAII: in its scope the module's parameters need no gradient, so a backward pass through the
// module computes gradients for its inputs alone (half of a convolution's backward is its weight
// gradient) and leaves the parameters' grad() untouched. For gradients with respect to inputs,
// such as a latent through the decoder. Not for use while another thread trains the module.
class ConstantWeights {
 public:
  explicit ConstantWeights(const Module& m);
  ~ConstantWeights();
  ConstantWeights(const ConstantWeights&) = delete;
  ConstantWeights& operator=(const ConstantWeights&) = delete;

 private:
  std::vector<NamedParam> params_;
  std::vector<bool> was_;
};

// Initialisers, drawn from `gen` (so a seed fixes the whole model).
Tensor xavier_uniform(const Dims& shape, Generator& gen);  // shape [fan_out, fan_in]
Tensor normal_init(const Dims& shape, float std, Generator& gen);

}  // namespace cubist
