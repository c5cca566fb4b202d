// Multi-head self-attention over packed tokens: x [S, D] holds several sequences back to back
// (lengths `seqlens`, summing to S; empty = one sequence) and a token attends only within its own
// sequence. Optional QK normalisation (RMS norm of each head's queries and keys, for stable
// training at scale) and 3-axis rotary position embedding from (t, h, w) positions [S, 3].
#pragma once

#include <array>
#include <vector>

#include "nn/linear.h"

namespace cubist {

struct AttentionConfig {
  int64_t dim = 384;
  int64_t heads = 6;
  bool qk_norm = true;
  bool rope = true;
  std::array<int64_t, 3> rope_sections = {0, 0, 0};  // (t, h, w) split of the head dim; 0 = auto
  float rope_theta = 10000.0f;
};

class SelfAttention : public Module {
 public:
  SelfAttention(const AttentionConfig& config, Generator& gen);
  Var forward(const Var& x, const Tensor& positions, const std::vector<int64_t>& seqlens) const;

 private:
  AttentionConfig config_;
  Linear qkv_, proj_;
  Var q_norm_, k_norm_;
};

// The default split of a head dim over (t, h, w) for 3-axis RoPE: even sizes, time gets the
// remainder (e.g. 64 -> {24, 20, 20}).
std::array<int64_t, 3> default_rope_sections(int64_t head_dim);

}  // namespace cubist
