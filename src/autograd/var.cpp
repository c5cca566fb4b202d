#include "autograd/var.h"

#include <unordered_map>

#include "core/error.h"
#include "ops/elementwise.h"

namespace cubist {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = previous_; }
EnableGrad::EnableGrad() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGrad::~EnableGrad() { g_grad_enabled = previous_; }

Var::Var(Tensor value, bool requires_grad) : impl_(std::make_shared<VarImpl>()) {
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

Var record_impl(Tensor out, std::vector<Var> inputs, std::shared_ptr<Node> node) {
  Var v(std::move(out), false);
  if (node) {
    node->inputs = std::move(inputs);
    v.impl_->requires_grad = true;
    v.impl_->grad_fn = std::move(node);
  }
  return v;
}

Var record(const char* name, Tensor out, std::vector<Var> inputs, BackwardFn backward) {
  bool needed = false;
  if (grad_enabled())
    for (const Var& in : inputs) needed |= in.requires_grad();
  if (!needed) return record_impl(std::move(out), {}, nullptr);
  auto node = std::make_shared<Node>();
  node->name = name;
  node->backward = std::move(backward);
  return record_impl(std::move(out), std::move(inputs), std::move(node));
}

namespace {

// Adds g into a leaf's gradient: a fresh copy on first use, because optimisers and clipping
// write leaf gradients in place and g may be shared (add's backward returns one tensor twice).
void accumulate(Tensor& acc, const Tensor& g) {
  if (!acc.defined()) {
    acc = g.is_contiguous() ? g.clone() : g.contiguous();
    return;
  }
  ops::add_(acc, g);
}

// The gradient flowing into a non-leaf value. The first contribution is kept as it is (no
// copy: backward functions never write their inputs); a second one makes a new sum, which is
// then ours to add further contributions into.
struct PendingGrad {
  Tensor sum;
  bool owned = false;
  void add(const Tensor& g) {
    if (!sum.defined()) {
      sum = g.contiguous();  // the kernels read contiguous gradients
    } else if (!owned) {
      sum = ops::add(sum, g.contiguous());
      owned = true;
    } else {
      ops::add_(sum, g.contiguous());
    }
  }
};

// Vars reachable from root through grad_fn edges, in an order where every Var comes after all
// Vars that it feeds (reverse topological order for the backward walk).
std::vector<VarImpl*> order_for_backward(VarImpl* root, std::unordered_map<VarImpl*, Var>& keep) {
  std::vector<VarImpl*> post;
  std::unordered_map<VarImpl*, bool> visited;
  std::vector<std::pair<VarImpl*, size_t>> stack{{root, 0}};
  visited[root] = true;
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    if (v->grad_fn && next < v->grad_fn->inputs.size()) {
      const Var& in = v->grad_fn->inputs[next++];
      if (in.requires_grad() && !visited[in.id()]) {
        visited[in.id()] = true;
        keep.emplace(in.id(), in);
        stack.push_back({in.id(), 0});
      }
      continue;
    }
    post.push_back(v);
    stack.pop_back();
  }
  return {post.rbegin(), post.rend()};
}

}  // namespace

void Var::backward(const Tensor& seed) const {
  CUBIST_CHECK(defined(), "backward: called on an undefined Var");
  CUBIST_CHECK(requires_grad(),
               "backward: this value does not depend on anything that requires "
               "a gradient (was it computed under NoGrad?)");
  Tensor g0 = seed;
  if (!g0.defined()) {
    CUBIST_CHECK(value().numel() == 1, "backward: a seed gradient is needed for a value of shape ",
                 value().shape(), "; only one-element values are seeded with 1");
    g0 = Tensor::full(value().shape(), 1.0f);
  }
  CUBIST_CHECK(g0.shape() == value().shape(), "backward: seed of shape ", g0.shape(),
               " for a value of shape ", value().shape());

  std::unordered_map<VarImpl*, Var> keep;  // holds every Var of the walk alive until it is done
  keep.emplace(id(), *this);
  const std::vector<VarImpl*> order = order_for_backward(id(), keep);
  std::unordered_map<VarImpl*, PendingGrad> pending;  // gradients flowing into each value
  pending[id()].add(g0);

  for (VarImpl* v : order) {
    if (!v->grad_fn) {  // a leaf: its gradient accumulates across backward passes
      auto it = pending.find(v);
      if (it != pending.end()) accumulate(v->grad, it->second.sum);
      continue;
    }
    auto it = pending.find(v);
    if (it == pending.end()) continue;
    const Tensor gout = std::move(it->second.sum);
    pending.erase(it);
    std::shared_ptr<Node> node = std::move(v->grad_fn);  // frees saved tensors once done
    Grads grads = node->backward(gout);
    CUBIST_CHECK(grads.size() == node->inputs.size(), "backward of ", node->name, ": returned ",
                 grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Var& in = node->inputs[i];
      if (!in.requires_grad() || !grads[i].defined()) continue;
      CUBIST_CHECK(grads[i].shape() == in.shape(), "backward of ", node->name,
                   ": gradient of input ", i, " has shape ", grads[i].shape(),
                   " but the input has shape ", in.shape());
      pending[in.id()].add(grads[i]);
    }
  }
}

Var checkpoint(const std::function<Var(const std::vector<Var>&)>& fn,
               const std::vector<Var>& inputs) {
  if (!grad_enabled()) return fn(inputs);
  Tensor out;
  {
    NoGrad no_grad;
    out = fn(inputs).value();
  }
  return record("checkpoint", out, inputs, [fn, inputs](const Tensor& gout) {
    std::vector<Var> fresh;
    fresh.reserve(inputs.size());
    for (const Var& in : inputs) fresh.emplace_back(in.value(), in.requires_grad());
    Var y;
    {
      EnableGrad enable;
      y = fn(fresh);
    }
    if (y.requires_grad()) y.backward(gout);
    Grads g;
    for (Var& f : fresh) g.push_back(f.requires_grad() ? f.grad() : Tensor());
    return g;
  });
}

}  // namespace cubist
