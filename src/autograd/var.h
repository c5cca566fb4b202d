// Reverse-mode automatic differentiation. A Var is a tensor value that remembers, when gradients
// are enabled and an input requires them, the Node that made it. Model code is written as a plain
// forward pass over Vars; Var::backward() walks the recorded graph in reverse topological order
// and accumulates gradients into the leaves. Under NoGrad (inference) nothing is recorded, so no
// activation is kept alive for a backward pass.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cubist {

struct Node;

struct VarImpl {
  Tensor value;
  Tensor grad;  // accumulated gradient of a leaf; undefined until backward reaches it
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // the op that made this value; null for leaves
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const { return impl_->value; }
  Tensor& value() { return impl_->value; }
  const Tensor& grad() const { return impl_->grad; }
  Tensor& grad() { return impl_->grad; }
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  // A leaf's flag; ops recorded afterwards follow it (nn/module.h's ConstantWeights uses it).
  void set_requires_grad(bool r) { impl_->requires_grad = r; }
  bool is_leaf() const { return !impl_->grad_fn; }
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  VarImpl* id() const { return impl_.get(); }

  const Dims& shape() const { return value().shape(); }
  int64_t size(int d) const { return value().size(d); }
  int dim() const { return value().dim(); }
  float item() const { return value().item(); }

  Var detach() const { return Var(value(), false); }
  // Gradient of this value with respect to every leaf that requires one, accumulated into the
  // leaves' grad(). A one-element value is seeded with 1; otherwise `seed` gives d(loss)/d(this).
  // The graph is freed as it is walked, so backward() runs once per forward pass.
  void backward(const Tensor& seed = Tensor()) const;

 private:
  friend Var record_impl(Tensor, std::vector<Var>, std::shared_ptr<Node>);
  std::shared_ptr<VarImpl> impl_;
};

using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const Tensor& grad_out)>;

// One recorded op: its inputs, and how to turn the gradient of its output into one gradient per
// input (an undefined Tensor for an input that needs none).
struct Node {
  const char* name;
  std::vector<Var> inputs;
  BackwardFn backward;
};

// Whether ops record themselves for backward on this thread.
bool grad_enabled();

class NoGrad {  // RAII: disables recording in its scope
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

class EnableGrad {  // RAII: enables recording in its scope (used by recomputation)
 public:
  EnableGrad();
  ~EnableGrad();
  EnableGrad(const EnableGrad&) = delete;
  EnableGrad& operator=(const EnableGrad&) = delete;

 private:
  bool previous_;
};

// Wraps an op's output. When gradients are enabled and some input requires one, the result
// records `backward` (which captures what it needs from the forward pass); otherwise `backward`
// is dropped at once and the result is a constant.
Var record(const char* name, Tensor out, std::vector<Var> inputs, BackwardFn backward);

// Gradient checkpointing: runs fn(inputs) without recording, and recomputes it with recording
// during backward. Memory for the activations inside fn is needed only while its gradient is
// being computed. Parameters that fn captures receive their gradients as usual.
Var checkpoint(const std::function<Var(const std::vector<Var>&)>& fn,
               const std::vector<Var>& inputs);

}  // namespace cubist
