#include "models/dit/dit.h"

#include <cmath>
#include <string>

#include "autograd/activation.h"
#include "autograd/basic.h"
#include "autograd/modulate.h"
#include "core/error.h"

namespace cubist {

Tensor timestep_features(const std::vector<float>& t, int64_t dim) {
  const int64_t b = static_cast<int64_t>(t.size()), half = dim / 2;
  Tensor out = Tensor::empty({b, dim});
  float* o = out.data<float>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t k = 0; k < half; ++k) {
      const double freq = std::exp(-std::log(10000.0) * static_cast<double>(k) / half);
      const double arg = 1000.0 * t[static_cast<size_t>(i)] * freq;
      o[i * dim + k] = static_cast<float>(std::cos(arg));
      o[i * dim + half + k] = static_cast<float>(std::sin(arg));
    }
  return out;
}

TimestepEmbedder::TimestepEmbedder(int64_t freq_dim, int64_t hidden, Generator& gen)
    : freq_dim_(freq_dim), fc1_(freq_dim, hidden, gen), fc2_(hidden, hidden, gen) {
  child("fc1", fc1_);
  child("fc2", fc2_);
}

Var TimestepEmbedder::forward(const std::vector<float>& t) const {
  return fc2_.forward(silu(fc1_.forward(Var(timestep_features(t, freq_dim_)))));
}

FinalLayer::FinalLayer(int64_t hidden, int64_t out, Generator& gen)
    : hidden_(hidden), ada_(hidden, 2 * hidden, gen), linear_(hidden, out, gen) {
  ada_.weight().value().zero_();
  linear_.weight().value().zero_();
  child("ada", ada_);
  child("linear", linear_);
}

Var FinalLayer::forward(const Var& x, const Var& c, const std::vector<int64_t>& seqlens,
                        const std::vector<int32_t>& clip_of_token) const {
  const int64_t s = x.size(0), d = hidden_;
  const ClipRows mod = clip_rows(ada_.forward(silu(c)), seqlens, clip_of_token, d);
  Var h = layer_norm_modulate(reshape(x, mod.view), slice(mod.rows, 1, 0, d),
                              slice(mod.rows, 1, d, 2 * d));
  return linear_.forward(reshape(h, {s, d}));
}

DiT::DiT(const DiTConfig& config, Generator& gen)
    : config_(config),
      x_embed_(config.input_patch_dim(), config.hidden, gen),
      t_embed_(config.freq_dim, config.hidden, gen),
      text_(config.text, gen),
      text_proj_(config.text.dim, config.hidden, gen),
      final_(config.hidden, config.patch_dim(), gen) {
  check_dit_config(config);
  child("x_embed", x_embed_);
  child("t_embed", t_embed_);
  child("text", text_);
  child("text_proj", text_proj_);
  for (int64_t i = 0; i < config.depth; ++i) {
    blocks_.push_back(std::make_unique<DiTBlock>(DiTBlockConfig{.hidden = config.hidden,
                                                                .heads = config.heads,
                                                                .mlp_ratio = config.mlp_ratio,
                                                                .qk_norm = config.qk_norm,
                                                                .rope = true,
                                                                .rope_theta = config.rope_theta,
                                                                .cross_attention = true},
                                                 gen));
    child("blocks." + std::to_string(i), *blocks_.back());
  }
  child("final", final_);
}

EncodedText DiT::encode_text(const Prompts& prompts) const {
  EncodedText out;
  std::vector<int32_t> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto& p = prompts[i];
    CUBIST_CHECK(!p.empty() && static_cast<int64_t>(p.size()) <= config_.max_text_tokens,
                 "DiT: the prompt of clip ", i, " has ", p.size(), " tokens; accepted: 1 to ",
                 config_.max_text_tokens, " (the empty prompt is the one token <empty>)");
    ids.insert(ids.end(), p.begin(), p.end());
    out.lengths.push_back(static_cast<int64_t>(p.size()));
  }
  out.tokens = text_proj_.forward(text_.forward(ids, out.lengths));
  return out;
}

Var DiT::forward_tokens(const Var& tokens, const PackLayout& layout, const std::vector<float>& t,
                        const Prompts& prompts) const {
  return forward_tokens(tokens, layout, t, encode_text(prompts));
}

Var DiT::forward_tokens(const Var& tokens, const PackLayout& layout, const std::vector<float>& t,
                        const EncodedText& text) const {
  const size_t b = layout.seqlens.size();
  CUBIST_CHECK(t.size() == b && text.lengths.size() == b, "DiT: ", b, " clips but ", t.size(),
               " times and ", text.lengths.size(), " prompts (one of each per clip)");
  CUBIST_CHECK(tokens.dim() == 2 && tokens.size(0) == layout.tokens() &&
                   tokens.size(1) == config_.input_patch_dim(),
               "DiT: tokens must be [", layout.tokens(), ", ", config_.input_patch_dim(), "], got ",
               tokens.shape());
  for (size_t i = 0; i < b; ++i)
    CUBIST_CHECK(std::isfinite(t[i]) && t[i] >= 0.0f && t[i] <= 1.0f, "DiT: diffusion time ", t[i],
                 " of clip ", i, " is outside [0, 1]");
  const Var c = t_embed_.forward(t);
  const PackedSeq seq{.positions = &layout.positions,
                      .seqlens = &layout.seqlens,
                      .clip_of_token = &layout.clip_of_token,
                      .context_lens = &text.lengths};
  Var x = x_embed_.forward(tokens);
  for (const auto& block : blocks_) x = block->forward_packed(x, c, seq, text.tokens);
  return final_.forward(x, c, layout.seqlens, layout.clip_of_token);
}

std::vector<Var> DiT::forward(const std::vector<Var>& latents, const std::vector<float>& t,
                              const Prompts& prompts) const {
  for (const Var& x : latents)
    CUBIST_CHECK(x.dim() == 4 && x.size(0) == config_.input_channels(), "DiT: inputs must be [",
                 config_.input_channels(), ", T, H, W]",
                 config_.frame_conditioning ? " (latents and the known-frame mask)" : "", ", got ",
                 x.shape());
  PackLayout layout;
  const Var tokens = pack_clips(latents, config_.patch, &layout);
  const Var out = forward_tokens(tokens, layout, t, prompts);
  return unpack_clips(out, layout, config_.patch, config_.latent_channels);
}

}  // namespace cubist
