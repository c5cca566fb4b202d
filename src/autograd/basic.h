// Differentiable elementwise arithmetic, reductions and views over Vars.
#pragma once

#include "autograd/var.h"

namespace cubist {

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var scale(const Var& a, float s);
Var add_bias(const Var& x, const Var& bias);  // x[..., D] + bias[D]
Var sum(const Var& a);                        // all elements, a one-element result
Var mean(const Var& a);                       // all elements, a one-element result

Var reshape(const Var& a, const Dims& shape);
Var permute(const Var& a, const std::vector<int>& order);      // result is contiguous
Var transpose(const Var& a, int d0, int d1);                   // result is contiguous
Var slice(const Var& a, int dim, int64_t start, int64_t end);  // result is contiguous
Var concat(const std::vector<Var>& parts, int dim);

}  // namespace cubist
