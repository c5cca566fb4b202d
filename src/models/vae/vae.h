// The video autoencoder (Sora's "video compression network"): a causal 3-D convolutional encoder
// to a KL-regularised Gaussian latent, and a decoder back to pixels (encoder.h, decoder.h).
//
//   video [B, 3, T, H, W] in [-1, 1]  --encoder-->  mean, log-variance [B, C, T', H', W']
//   training:  z = mean + exp(logvar / 2) * eps,  loss = MSE(decoder(z), video) + w * KL
//   inference: z = mean;  decoder(z) [B, 3, T, H, W]
//
// with T' = 1 + (T - 1) / tf, H' = H / sf, W' = W / sf. The first frame is encoded on its own
// (every layer is causal), so a still image is a one-frame video and images and videos share one
// latent space. Chunked encode and decode give the one-pass result with memory bounded by the
// chunk (layers.h). Checkpoints are safetensors whose metadata holds the config (save_vae).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "io/video.h"
#include "models/vae/decoder.h"
#include "models/vae/encoder.h"

namespace cubist {

struct Posterior {
  Var mean, logvar;  // [B, C, T', H', W'] each; logvar clamped to [-30, 20] where it is used
};

class Vae : public Module {
 public:
  Vae(const VaeConfig& config, Generator& gen);

  const VaeConfig& config() const { return config_; }
  // x [B, in_channels, T, H, W]; frame counts and sizes are checked (config.check_video_shape).
  Posterior encode(const Var& x) const;
  // z [B, latent_channels, T', H', W']. With a stream, z is the next chunk of a streamed pass
  // (as decode_next, but recording gradients: refinement steps through a chunk this way).
  Var decode(const Var& z, CausalStream* stream = nullptr) const;

  // Inference without gradients. encode_mean returns the posterior mean; chunk_frames > 0 runs
  // the first frame, then chunk_frames frames at a time (a multiple of the temporal factor), so
  // activation memory does not grow with the video's length. decode_chunked decodes
  // chunk_latents latent frames at a time (the first alone). Both equal the one-pass results.
  // `encoded`, when given, hears the frames encoded so far after each chunk.
  Tensor encode_mean(const Tensor& x, int64_t chunk_frames = 0,
                     const std::function<void(int64_t frames)>& encoded = {}) const;
  // `decoded`, when given, hears the latent frames decoded so far after each chunk.
  Tensor decode_chunked(const Tensor& z, int64_t chunk_latents = 1,
                        const std::function<void(int64_t latent_frames)>& decoded = {}) const;
  // One chunk of a streamed pass, for callers that hold one chunk at a time: the next frames
  // (the first call: frame 0 alone, then multiples of the temporal factor) or latent frames, and
  // the stream carried between calls. The chunks' results, concatenated, are encode_mean's and
  // decode_chunked's.
  Tensor encode_next(const Tensor& x_chunk, CausalStream& stream) const;
  Tensor decode_next(const Tensor& z_chunk, CausalStream& stream) const;
  // The end of the chunk that starts at `begin` of n frames: the first frame alone, then
  // `chunk` at a time (as encode_mean and decode_chunked cut them).
  static int64_t chunk_end(int64_t begin, int64_t n, int64_t chunk) {
    return begin == 0 ? 1 : std::min(n, begin + chunk);
  }

  // The fingerprint of the encoder's weights alone: what a latent depends on.
  std::string encoder_fingerprint() const { return encoder_.fingerprint(); }
  // The same at bf16: one for the encoder and its bf16 export (Module::fingerprint_at_bf16).
  std::string encoder_fingerprint_at_bf16() const { return encoder_.fingerprint_at_bf16(); }
  // Whether this is the encoder a file records by these two fingerprints (latents, a transformer
  // trained on them): its weights at f32 or at bf16 (an export). Nothing recorded is kYes; only
  // an f32 fingerprint that differs (files from before the bf16 one) is kUnknown: another
  // precision and other weights look alike then.
  enum class Match { kYes, kNo, kUnknown };
  Match encoder_match(const std::string& f32, const std::string& bf16) const {
    return match(f32, bf16, encoder_fingerprint(), encoder_fingerprint_at_bf16());
  }
  // The same for an encoder's fingerprints computed once before (a cache checks every latent).
  static Match match(const std::string& f32, const std::string& bf16, const std::string& own_f32,
                     const std::string& own_bf16) {
    if (f32.empty() || f32 == own_f32) return Match::kYes;
    if (bf16.empty()) return Match::kUnknown;
    return bf16 == own_bf16 ? Match::kYes : Match::kNo;
  }
  // The decoder's: what a refined latent was refined through (models/vae/refine.h).
  std::string decoder_fingerprint() const { return decoder_.fingerprint(); }
  // The decoder's parameters under their names in the whole model ("decoder. ..."): what a
  // decoder fine-tune updates.
  std::vector<NamedParam> decoder_parameters() const;

 private:
  VaeConfig config_;
  Encoder encoder_;
  Decoder decoder_;
};

// z = mean + exp(logvar / 2) * eps (the reparameterisation), with logvar clamped to [-30, 20].
// d z / d mean = 1;  d z / d logvar = exp(logvar / 2) * eps / 2 (0 where clamped).
Var sample_posterior(const Var& mean, const Var& logvar, const Tensor& eps);

// KL(N(mean, exp(logvar)) || N(0, 1)) averaged over elements:
//   kl = mean_i (mean_i^2 + exp(lv_i) - 1 - lv_i) / 2,
//   d kl / d mean_i = mean_i / n,   d kl / d lv_i = (exp(lv_i) - 1) / (2 n)  (0 where clamped).
Var kl_divergence(const Var& mean, const Var& logvar);

// Video frames <-> the network's tensors: [1, 3, T, H, W] with values v / 127.5 - 1, and back
// (clamped to [-1, 1] and rounded to 8 bits).
Tensor video_to_tensor(const Video& v);
Video tensor_to_video(const Tensor& x, double fps = 8.0);
// Peak signal-to-noise ratio in dB of b against a (8-bit, peak 255); identical videos give 99.
double psnr(const Video& a, const Video& b);
// The same PSNR of a mean squared error of pixels in [-1, 1] (whose [0, 1] error is a quarter of
// it); 0 gives 99.
double psnr_of_mse(double mse);

// Checkpoints. Metadata: "format" = kVaeFormat, "vae_config" = the config as JSON, plus `extra`.
inline constexpr const char* kVaeFormat = "cubist-vae-1";
std::map<std::string, std::string> vae_metadata(const VaeConfig& config);
void save_vae(const std::string& path, const Vae& vae,
              const std::map<std::string, std::string>& extra = {});
// The config a checkpoint was made with; a file that is not a Cubist VAE checkpoint is an Error
// that says what was expected.
VaeConfig read_vae_config(const SafeTensors& file);
// Builds the model from the checkpoint's config and loads its weights (other tensors in the file,
// such as optimizer moments, are ignored).
std::unique_ptr<Vae> load_vae(const std::string& path);

}  // namespace cubist
