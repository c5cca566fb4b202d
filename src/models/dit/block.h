// One DiT block (Peebles & Xie, "Scalable Diffusion Models with Transformers", Fig. 3, adaLN-Zero):
//
//   shift1, scale1, gate1, shift2, scale2, gate2 = Linear(SiLU(c))      (zero-initialised)
//   x = x + gate1 · SelfAttention(LayerNorm(x) · (1 + scale1) + shift1)
//   x = x + gate2 · MLP(LayerNorm(x) · (1 + scale2) + shift2)
//
// Zero-initialised modulation makes every block start as the identity. x is [B, N, D]: B clips
// of N tokens; c is [B, D], one conditioning vector per clip.
#pragma once

#include "nn/attention.h"
#include "nn/mlp.h"

namespace cubist {

struct DiTBlockConfig {
  int64_t hidden = 384;
  int64_t heads = 6;
  float mlp_ratio = 4.0f;
  bool qk_norm = true;
  bool rope = true;
};

class DiTBlock : public Module {
 public:
  DiTBlock(const DiTBlockConfig& config, Generator& gen);
  // positions: [B*N, 3] (t, h, w) of every token, for RoPE (undefined when rope is off).
  Var forward(const Var& x, const Var& c, const Tensor& positions) const;

 private:
  DiTBlockConfig config_;
  Linear ada_;  // SiLU(c) -> 6 modulation vectors
  SelfAttention attn_;
  Mlp mlp_;
};

}  // namespace cubist
