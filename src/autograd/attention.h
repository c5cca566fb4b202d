// Differentiable attention over packed sequences (see ops/attention.h for layout and masking).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/var.h"

namespace cubist {

// softmax(q kᵀ · scale) v per head with a block-diagonal mask from the sequence lengths:
// q [Sq, H, D], k [Skv, H, D], v [Skv, H, Dv] -> [Sq, H, Dv]. scale 0 means 1/sqrt(D).
// Keeps only the output and one log-sum-exp per (head, query) for the backward pass.
Var attention(const Var& q, const Var& k, const Var& v, const std::vector<int64_t>& seqlens_q = {},
              const std::vector<int64_t>& seqlens_kv = {}, float scale = 0.0f);

}  // namespace cubist
