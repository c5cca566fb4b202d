// The diffusion transformer's sizes and training constants, read from a JSON config file
// (configs/dit/*.json), so that one code path serves a tiny CPU model and a large one.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

#include "models/text/text_encoder.h"

namespace cubist {

// Spacetime patch size over latents: pt frames by ph rows by pw columns.
struct PatchSize {
  int64_t t = 1, h = 2, w = 2;
  int64_t volume() const { return t * h * w; }
  bool operator==(const PatchSize&) const = default;
};

// The kinds of known-frame masks that training draws (diffusion/condition.h), in the order of
// DiTConfig::condition_masks and of MaskKind.
inline constexpr std::array<const char*, 5> kConditionMasks = {"first", "head", "tail", "ends",
                                                               "random"};

struct DiTConfig {
  int64_t latent_channels = 4;  // C of the VAE's latents [C, T, H, W]
  PatchSize patch;
  int64_t hidden = 384;
  int64_t depth = 12;
  int64_t heads = 6;
  float mlp_ratio = 4.0f;
  bool qk_norm = true;
  float rope_theta = 10000.0f;
  int64_t freq_dim = 256;  // sinusoidal features of the diffusion time before its MLP
  text::TextEncoderConfig text{.vocab = 0, .dim = 256, .depth = 4, .heads = 4};
  int64_t max_text_tokens = 64;
  // The tokenizer a run builds from its captions (models/text/tokenizer.h): "word" (a word
  // vocabulary: Shapes World's closed language) or "sentencepiece" (at most
  // tokenizer_pieces subword pieces: the open vocabulary of real videos' captions); or the path
  // of a tokenizer file (.json, from `cubist text tokenizer`) to train with. JSON: the
  // "tokenizer" and "pieces" keys of "text".
  std::string tokenizer = "word";
  int64_t tokenizer_pieces = 4000;
  // Training: the share of captions replaced by the empty prompt (classifier-free guidance).
  float caption_dropout = 0.1f;
  // Prompting with images and videos (diffusion/condition.h): the model reads a mask channel of
  // known latent frames beside the latents, and training holds a random mask of known frames in
  // this share of clips.
  bool frame_conditioning = false;
  float condition_rate = 0.5f;
  // How often each kind of mask is drawn, as whole-number weights in the order of
  // kConditionMasks (1 each by default: uniform). Connections and backward extension hold
  // last frames ("tail", "ends"); raising their weights trains for them more often.
  std::array<int64_t, 5> condition_masks{1, 1, 1, 1, 1};
  // The autoencoder's latents per channel have these means and standard deviations (measured on
  // the training data when a run starts): the transformer models (z - mean) / std, so that data
  // and noise have one scale, as Stable Diffusion's latent scaling factor does. Empty: as they are.
  std::vector<float> latent_mean, latent_std;
  // Rectified flow: logit-normal time sampling and the resolution-dependent time shift
  // s = shift_base * sqrt(tokens / shift_base_tokens) (diffusion/flow.h).
  float logit_mean = 0.0f, logit_std = 1.0f;
  float shift_base = 1.0f;
  int64_t shift_base_tokens = 256;

  int64_t patch_dim() const { return latent_channels * patch.volume(); }
  // Channels of the model's input: the latents, and the known-frame mask when conditioned.
  int64_t input_channels() const { return latent_channels + (frame_conditioning ? 1 : 0); }
  int64_t input_patch_dim() const { return input_channels() * patch.volume(); }
};

// Whether config.tokenizer names a tokenizer file rather than a type built from the captions.
bool tokenizer_is_file(const DiTConfig& config);

// Latents as the autoencoder makes them [C, T, H, W] <-> as the transformer models them.
Tensor normalize_latents(const DiTConfig& config, const Tensor& z);
Tensor denormalize_latents(const DiTConfig& config, const Tensor& x);

// Reads a config file; every key is optional (the defaults above), an unknown key or a bad value
// throws Error naming the file and the key. text.vocab is set from the tokenizer, not the file.
// A training config ({"model": {...}, "train": ..., "data": ...}) gives its "model" object.
DiTConfig load_dit_config(const std::string& path);
DiTConfig parse_dit_config(const std::string& json_text, const std::string& where = "config");
std::string dit_config_json(const DiTConfig& config);
// Throws Error unless the sizes fit together (hidden divisible by heads, even head dims, ...).
void check_dit_config(const DiTConfig& config);

}  // namespace cubist
