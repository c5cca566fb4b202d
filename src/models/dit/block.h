// One DiT block (Peebles & Xie, "Scalable Diffusion Models with Transformers", Fig. 3, adaLN-Zero):
//
//   shift1, scale1, gate1, shift2, scale2, gate2 = Linear(SiLU(c))      (zero-initialised)
//   x = x + gate1 · SelfAttention(LayerNorm(x) · (1 + scale1) + shift1)
//   x = x + gate2 · MLP(LayerNorm(x) · (1 + scale2) + shift2)
//
// Zero-initialised modulation makes every block start as the identity. x is [B, N, D]: B clips
// of N tokens; c is [B, D], one conditioning vector per clip.
//
// With cross_attention on (as PixArt-alpha), a third sub-layer reads the text between the two:
//   x = x + CrossAttention(LayerNorm(x), text)        (output projection zero-initialised)
// and forward_packed takes clips of different sizes packed into one sequence, each with its own
// conditioning vector and text, which are broadcast over that clip's tokens.
#pragma once

#include <memory>
#include <vector>

#include "nn/attention.h"
#include "nn/cross_attention.h"
#include "nn/mlp.h"

namespace cubist {

struct DiTBlockConfig {
  int64_t hidden = 384;
  int64_t heads = 6;
  float mlp_ratio = 4.0f;
  bool qk_norm = true;
  bool rope = true;
  float rope_theta = 10000.0f;
  bool cross_attention = false;  // off: the block of `cubist bench block`
  int64_t context_dim = 0;       // width of the text tokens; 0 = hidden
};

// Where each token of a packed sequence belongs (models/dit/patchify.h builds it).
struct PackedSeq {
  const Tensor* positions = nullptr;              // [S, 3] (t, h, w)
  const std::vector<int64_t>* seqlens = nullptr;  // tokens per clip
  const std::vector<int32_t>* clip_of_token = nullptr;
  const std::vector<int64_t>* context_lens = nullptr;  // text tokens per clip
};

// Per-clip conditioning rows [B, K] as the modulation ops want them, with the view of x [S, D]
// that goes with them: clips of one length keep the rows and view x as [B, N, D]; clips of
// different lengths gather each token's row ([S, K], a differentiable `embedding`) and view x
// as [S, 1, D].
struct ClipRows {
  Var rows;
  Dims view;
};
ClipRows clip_rows(const Var& rows, const std::vector<int64_t>& seqlens,
                   const std::vector<int32_t>& clip_of_token, int64_t dim);

class DiTBlock : public Module {
 public:
  DiTBlock(const DiTBlockConfig& config, Generator& gen);
  // positions: [B*N, 3] (t, h, w) of every token, for RoPE (undefined when rope is off).
  Var forward(const Var& x, const Var& c, const Tensor& positions) const;
  // x [S, D]: clips packed back to back; c [B, D]: one vector per clip; context [Sc, Dc]: each
  // clip's text tokens back to back (needs cross_attention). -> [S, D].
  Var forward_packed(const Var& x, const Var& c, const PackedSeq& seq, const Var& context) const;

 private:
  DiTBlockConfig config_;
  Linear ada_;  // SiLU(c) -> 6 modulation vectors
  SelfAttention attn_;
  Mlp mlp_;
  std::unique_ptr<CrossAttention> cross_;
};

}  // namespace cubist
