#include "models/vae/vae.h"

#include <algorithm>
#include <cmath>

#include "autograd/basic.h"
#include "core/parallel.h"

namespace cubist {

namespace {

constexpr float kLogvarMin = -30.0f, kLogvarMax = 20.0f;

// Runs `step` over [0, n) in chunks: [0, 1), then `chunk` at a time; concatenates along time.
template <typename F>
Tensor run_chunks(int64_t n, int64_t chunk, F&& step) {
  std::vector<Var> outs;
  int64_t begin = 0;
  while (begin < n) {
    const int64_t end = Vae::chunk_end(begin, n, chunk);
    outs.push_back(Var(step(begin, end)));  // step marks the stream past its first chunk
    begin = end;
  }
  return outs.size() == 1 ? outs[0].value() : concat(outs, 2).value();
}

}  // namespace

constexpr const char* kDecoderName = "decoder";

Vae::Vae(const VaeConfig& config, Generator& gen)
    : config_(config), encoder_(config, gen), decoder_(config, gen) {
  child("encoder", encoder_);
  child(kDecoderName, decoder_);
}

std::vector<NamedParam> Vae::decoder_parameters() const {
  std::vector<NamedParam> out = decoder_.parameters();
  for (NamedParam& p : out) p.name = std::string(kDecoderName) + "." + p.name;
  return out;
}

Posterior Vae::encode(const Var& x) const {
  CUBIST_CHECK(x.dim() == 5 && x.size(1) == config_.in_channels, "vae encode: expects [B, ",
               config_.in_channels, ", T, H, W], got ", x.shape());
  config_.check_video_shape(x.size(2), x.size(3), x.size(4), "vae encode");
  const Var moments = encoder_.forward(x);
  const int64_t C = config_.latent_channels;
  return {slice(moments, 1, 0, C), slice(moments, 1, C, 2 * C)};
}

Var Vae::decode(const Var& z, CausalStream* stream) const {
  CUBIST_CHECK(z.dim() == 5 && z.size(1) == config_.latent_channels, "vae decode: expects [B, ",
               config_.latent_channels, ", T', H', W'] latents, got ", z.shape());
  Var x = decoder_.forward(z, stream);
  if (stream) stream->first_chunk = false;
  return x;
}

Tensor Vae::encode_mean(const Tensor& x, int64_t chunk_frames,
                        const std::function<void(int64_t)>& encoded) const {
  NoGrad no_grad;
  CUBIST_CHECK(x.dim() == 5 && x.size(1) == config_.in_channels, "vae encode: expects [B, ",
               config_.in_channels, ", T, H, W], got ", x.shape());
  config_.check_video_shape(x.size(2), x.size(3), x.size(4), "vae encode");
  const int64_t tf = config_.temporal_factor();
  CUBIST_CHECK(chunk_frames >= 0 && chunk_frames % tf == 0, "vae encode: chunks of ", chunk_frames,
               " frames; chunks must be a multiple of ", tf, " frames (0: one pass)");
  const int64_t C = config_.latent_channels;
  if (chunk_frames == 0) {
    Tensor z = encoder_.forward(Var(x)).value().slice(1, 0, C).contiguous();
    if (encoded) encoded(x.size(2));
    return z;
  }
  CausalStream stream;
  return run_chunks(x.size(2), chunk_frames, [&](int64_t b, int64_t e) {
    Tensor z = encode_next(x.slice(2, b, e).contiguous(), stream);
    if (encoded) encoded(e);
    return z;
  });
}

Tensor Vae::encode_next(const Tensor& x_chunk, CausalStream& stream) const {
  NoGrad no_grad;
  const Tensor moments = encoder_.forward(Var(x_chunk), &stream).value();
  stream.first_chunk = false;
  return moments.slice(1, 0, config_.latent_channels).contiguous();
}

Tensor Vae::decode_next(const Tensor& z_chunk, CausalStream& stream) const {
  NoGrad no_grad;
  return decode(Var(z_chunk), &stream).value();
}

Tensor Vae::decode_chunked(const Tensor& z, int64_t chunk_latents,
                           const std::function<void(int64_t)>& decoded) const {
  NoGrad no_grad;
  CUBIST_CHECK(z.dim() == 5 && z.size(1) == config_.latent_channels, "vae decode: expects [B, ",
               config_.latent_channels, ", T', H', W'] latents, got ", z.shape());
  CUBIST_CHECK(chunk_latents >= 1, "vae decode: chunks must hold at least one latent frame");
  CausalStream stream;
  return run_chunks(z.size(2), chunk_latents, [&](int64_t b, int64_t e) {
    Tensor frames = decode_next(z.slice(2, b, e).contiguous(), stream);
    if (decoded) decoded(e);
    return frames;
  });
}

Var sample_posterior(const Var& mean, const Var& logvar, const Tensor& eps) {
  CUBIST_CHECK(mean.shape() == logvar.shape() && mean.shape() == eps.shape(),
               "sample_posterior: mean ", mean.shape(), ", logvar ", logvar.shape(), " and eps ",
               eps.shape(), " must have one shape");
  const Tensor m = mean.value().contiguous(), lv = logvar.value().contiguous(),
               e = eps.contiguous();
  Tensor z = Tensor::empty(m.shape()), dz_dlv = Tensor::empty(m.shape());
  const float *pm = m.data<float>(), *plv = lv.data<float>(), *pe = e.data<float>();
  float *pz = z.data<float>(), *pd = dz_dlv.data<float>();
  parallel_for(m.numel(), 1 << 14, [&](int64_t b, int64_t end) {
    for (int64_t i = b; i < end; ++i) {
      const bool clamped = plv[i] < kLogvarMin || plv[i] > kLogvarMax;
      const float sd = std::exp(0.5f * std::clamp(plv[i], kLogvarMin, kLogvarMax));
      pz[i] = pm[i] + sd * pe[i];
      pd[i] = clamped ? 0.0f : 0.5f * sd * pe[i];
    }
  });
  return record("sample_posterior", z, {mean, logvar}, [dz_dlv](const Tensor& g) {
    const Tensor gc = g.contiguous();
    Tensor dlv = Tensor::empty(gc.shape());
    const float *pg = gc.data<float>(), *pdz = dz_dlv.data<float>();
    float* po = dlv.data<float>();
    for (int64_t i = 0; i < gc.numel(); ++i) po[i] = pg[i] * pdz[i];
    return Grads{gc, dlv};
  });
}

Var kl_divergence(const Var& mean, const Var& logvar) {
  CUBIST_CHECK(mean.shape() == logvar.shape(), "kl_divergence: mean ", mean.shape(), " and logvar ",
               logvar.shape(), " must have one shape");
  const Tensor m = mean.value().contiguous(), lv = logvar.value().contiguous();
  const int64_t n = m.numel();
  const float *pm = m.data<float>(), *plv = lv.data<float>();
  // Summed in double in index order: the same result for any thread count.
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::clamp(plv[i], kLogvarMin, kLogvarMax);
    total +=
        0.5 * (static_cast<double>(pm[i]) * pm[i] + std::exp(static_cast<double>(v)) - 1.0 - v);
  }
  const Tensor out = Tensor::full({}, static_cast<float>(total / static_cast<double>(n)));
  return record("kl_divergence", out, {mean, logvar}, [m, lv](const Tensor& g) {
    const int64_t count = m.numel();
    const float s = g.item() / static_cast<float>(count);
    Tensor dm = Tensor::empty(m.shape()), dlv = Tensor::empty(m.shape());
    const float *pm2 = m.data<float>(), *plv2 = lv.data<float>();
    float *pdm = dm.data<float>(), *pdlv = dlv.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      const bool clamped = plv2[i] < kLogvarMin || plv2[i] > kLogvarMax;
      pdm[i] = s * pm2[i];
      pdlv[i] = clamped ? 0.0f : 0.5f * s * (std::exp(plv2[i]) - 1.0f);
    }
    return Grads{dm, dlv};
  });
}

Tensor video_to_tensor(const Video& v) {
  CUBIST_CHECK(v.frames >= 1 && v.height >= 1 && v.width >= 1, "video_to_tensor: empty video");
  const int64_t T = v.frames, HW = v.height * v.width;
  Tensor x = Tensor::empty({1, 3, T, v.height, v.width});
  float* px = x.data<float>();
  parallel_for(T, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const uint8_t* f = v.frame(t);
      for (int64_t c = 0; c < 3; ++c) {
        float* dst = px + (c * T + t) * HW;
        for (int64_t i = 0; i < HW; ++i) dst[i] = f[i * 3 + c] * (1.0f / 127.5f) - 1.0f;
      }
    }
  });
  return x;
}

Video tensor_to_video(const Tensor& x, double fps) {
  CUBIST_CHECK(x.dim() == 5 && x.size(0) == 1 && x.size(1) == 3,
               "tensor_to_video: expects [1, 3, T, H, W], got ", x.shape());
  const Tensor c = x.contiguous();
  const int64_t T = x.size(2), H = x.size(3), W = x.size(4), HW = H * W;
  Video v(T, H, W, fps);
  const float* px = c.data<float>();
  parallel_for(T, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      uint8_t* f = v.frame(t);
      for (int64_t ch = 0; ch < 3; ++ch) {
        const float* src = px + (ch * T + t) * HW;
        for (int64_t i = 0; i < HW; ++i) {
          const float u = (std::clamp(src[i], -1.0f, 1.0f) + 1.0f) * 127.5f;
          f[i * 3 + ch] = static_cast<uint8_t>(std::lround(u));
        }
      }
    }
  });
  return v;
}

double psnr(const Video& a, const Video& b) {
  CUBIST_CHECK(a.frames == b.frames && a.height == b.height && a.width == b.width,
               "psnr: videos of different shapes (", a.frames, "x", a.height, "x", a.width, " and ",
               b.frames, "x", b.height, "x", b.width, ")");
  double se = 0.0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double d = static_cast<double>(a.rgb[i]) - b.rgb[i];
    se += d * d;
  }
  if (se == 0.0) return 99.0;
  const double mse = se / static_cast<double>(a.rgb.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double psnr_of_mse(double mse) { return mse > 0.0 ? 10.0 * std::log10(4.0 / mse) : 99.0; }

std::map<std::string, std::string> vae_metadata(const VaeConfig& config) {
  return {{"format", kVaeFormat}, {"vae_config", config.to_json().dump()}};
}

void save_vae(const std::string& path, const Vae& vae,
              const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> meta = vae_metadata(vae.config());
  for (const auto& [k, v] : extra) meta[k] = v;
  save_safetensors(path, vae.state_dict(), meta);
}

VaeConfig read_vae_config(const SafeTensors& file) {
  const auto& meta = file.metadata();
  const auto format = meta.find("format");
  CUBIST_CHECK(format != meta.end() && format->second == kVaeFormat, file.path(),
               ": not a Cubist VAE checkpoint (expected metadata \"format\": \"", kVaeFormat,
               "\", found ", format == meta.end() ? "no \"format\"" : "\"" + format->second + "\"",
               ")");
  const auto config = meta.find("vae_config");
  CUBIST_CHECK(config != meta.end(), file.path(),
               ": a VAE checkpoint without \"vae_config\" metadata");
  try {
    return VaeConfig::from_json(nlohmann::json::parse(config->second));
  } catch (const nlohmann::json::exception& e) {
    fail(file.path(), ": \"vae_config\" metadata is not valid JSON: ", e.what());
  } catch (const Error& e) {
    fail(file.path(), ": ", e.what());
  }
}

std::unique_ptr<Vae> load_vae(const std::string& path) {
  const SafeTensors file = SafeTensors::open(path);
  Generator gen(0);
  auto vae = std::make_unique<Vae>(read_vae_config(file), gen);
  vae->load_state_dict(file);
  return vae;
}

}  // namespace cubist
