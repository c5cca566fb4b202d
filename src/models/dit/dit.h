// The diffusion transformer (Peebles & Xie, "Scalable Diffusion Models with Transformers"; Sora's
// denoiser) over spacetime patches of VAE latents, with text by cross-attention (PixArt-alpha):
//
//   clips [C, T, H, W] --patchify, pack--> tokens [S, C*pt*ph*pw] --Linear--> x [S, D]
//   t --sinusoidal--> MLP --> c [B, D]                  (one diffusion time per clip)
//   prompt tokens --TextEncoder--> Linear --> text [Sc, D]
//   x = DiTBlock(x, c, text) x depth     (adaLN-Zero from c; self-attention over each clip's own
//                                         tokens with 3-axis RoPE and QK norm; cross-attention
//                                         to the clip's own text)
//   out = Linear(LayerNorm(x) * (1 + scale) + shift)    (shift, scale from c; zero-initialised)
//   --unpack, unpatchify--> velocity [C, T, H, W] per clip
//
// Clips of any size, duration and aspect ratio share one packed sequence (block-diagonal
// attention), and images are 1-frame clips.
#pragma once

#include <memory>
#include <vector>

#include "models/dit/block.h"
#include "models/dit/config.h"
#include "models/dit/patchify.h"
#include "models/text/text_encoder.h"

namespace cubist {

// [B, dim]: DiT's sinusoidal features of 1000 t (cosines, then sines; frequencies
// 10000^(-i/(dim/2))), t in [0, 1].
Tensor timestep_features(const std::vector<float>& t, int64_t dim);

class TimestepEmbedder : public Module {
 public:
  TimestepEmbedder(int64_t freq_dim, int64_t hidden, Generator& gen);
  Var forward(const std::vector<float>& t) const;  // -> [B, hidden]

 private:
  int64_t freq_dim_;
  Linear fc1_, fc2_;
};

// adaLN (shift, scale from c, zero-initialised) and the zero-initialised projection to patches.
class FinalLayer : public Module {
 public:
  FinalLayer(int64_t hidden, int64_t out, Generator& gen);
  Var forward(const Var& x, const Var& c, const std::vector<int64_t>& seqlens,
              const std::vector<int32_t>& clip_of_token) const;

 private:
  int64_t hidden_;
  Linear ada_, linear_;
};

// One prompt per clip, as token ids (the empty prompt is {text::kEmpty}).
using Prompts = std::vector<std::vector<int32_t>>;

// Prompts through the text encoder and the projection to the DiT's width: tokens [Sc, D], each
// prompt's tokens back to back (lengths). Computed once, it serves every step of sampling.
struct EncodedText {
  Var tokens;
  std::vector<int64_t> lengths;
};

class DiT : public Module {
 public:
  DiT(const DiTConfig& config, Generator& gen);

  // The predicted velocity of each clip: latents[i] [C, T, H, W] (sizes may differ) at diffusion
  // time t[i] in [0, 1] with prompt prompts[i].
  std::vector<Var> forward(const std::vector<Var>& latents, const std::vector<float>& t,
                           const Prompts& prompts) const;
  // The packed core: tokens [S, C*pt*ph*pw] laid out by `layout` -> [S, C*pt*ph*pw].
  Var forward_tokens(const Var& tokens, const PackLayout& layout, const std::vector<float>& t,
                     const Prompts& prompts) const;
  Var forward_tokens(const Var& tokens, const PackLayout& layout, const std::vector<float>& t,
                     const EncodedText& text) const;
  EncodedText encode_text(const Prompts& prompts) const;

  const DiTConfig& config() const { return config_; }

 private:
  DiTConfig config_;
  Linear x_embed_;
  TimestepEmbedder t_embed_;
  text::TextEncoder text_;
  Linear text_proj_;
  std::vector<std::unique_ptr<DiTBlock>> blocks_;
  FinalLayer final_;
};

}  // namespace cubist
