// Multi-head cross-attention from packed tokens to packed context (text) tokens: query sequence i
// (seqlens_q[i] tokens of x) attends to context sequence i (seqlens_kv[i] tokens), a
// block-diagonal mask. Optional QK normalisation (RMS norm per head, learned gains); no positions
// (the text encoder has already placed its words).
#pragma once

#include <vector>

#include "nn/linear.h"

namespace cubist {

struct CrossAttentionConfig {
  int64_t dim = 384;
  int64_t context_dim = 384;
  int64_t heads = 6;
  bool qk_norm = true;
};

class CrossAttention : public Module {
 public:
  CrossAttention(const CrossAttentionConfig& config, Generator& gen);
  // x [S, dim], context [Sc, context_dim] -> [S, dim].
  Var forward(const Var& x, const Var& context, const std::vector<int64_t>& seqlens_q,
              const std::vector<int64_t>& seqlens_kv) const;
  Linear& proj() { return proj_; }

 private:
  CrossAttentionConfig config_;
  Linear q_, kv_, proj_;
  Var q_norm_, k_norm_;
};

}  // namespace cubist
