// Scaled-dot-product attention, FlashAttention-2 style: softmax(q kᵀ · scale) v computed tile by
// tile with the online-softmax recurrence, so the Sq x Skv score matrix is never held in memory.
// The forward keeps one log-sum-exp per (head, query row); the backward recomputes the scores of
// each tile from it. Memory therefore grows linearly in the sequence length.
//
// Layout: packed tokens, heads inside each token.
//   q [Sq, H, D], k [Skv, H, D], v [Skv, H, Dv]  ->  out [Sq, H, Dv], lse [H, Sq]
// Packing: seqlens_q and seqlens_kv (equal counts, summing to Sq and Skv; both empty means one
// sequence each) cut the tokens into sequences; query sequence i attends only to key sequence i
// (a block-diagonal mask). Self-attention over several clips packed into one sequence passes the
// same list twice; cross-attention from video tokens to text tokens passes the clip lengths and
// the caption lengths. A query sequence whose key sequence is empty gets a zero output, lse = -inf
// and zero gradients.
// scale: 0 means 1/sqrt(D).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace cubist::ops {

struct AttentionResult {
  Tensor out;  // [Sq, H, Dv]
  Tensor lse;  // [H, Sq]: log sum_j exp(scale * q_i . k_j) over the keys row i attends to
};

struct AttentionGrads {
  Tensor dq, dk, dv;
};

AttentionResult attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const std::vector<int64_t>& seqlens_q = {},
                                  const std::vector<int64_t>& seqlens_kv = {}, float scale = 0.0f);

// Gradients of sum(dout * out) with respect to q, k and v, given the forward's out and lse.
AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor& dout,
                                  const std::vector<int64_t>& seqlens_q = {},
                                  const std::vector<int64_t>& seqlens_kv = {}, float scale = 0.0f);

// The textbook version, for tests and benchmarks only: materialises the [H, Sq, Skv] scores and
// computes them with two GEMMs per head plus a softmax. Same arguments and result as
// attention_forward.
AttentionResult attention_forward_naive(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const std::vector<int64_t>& seqlens_q = {},
                                        const std::vector<int64_t>& seqlens_kv = {},
                                        float scale = 0.0f);

}  // namespace cubist::ops
