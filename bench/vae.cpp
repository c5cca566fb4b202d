// The video autoencoder's benchmark (docs/PERFORMANCE.md, "Video autoencoder"):
//   1. reconstruction PSNR on held-out Shapes World clips (a seed no training run uses) for every
//      size and length asked, and whether the Shapes World checker still judges every object of
//      the reconstruction right (next to how it judges the original clip);
//   2. encode + decode throughput of a 17x64x64 clip (best of --reps, wall time);
//   3. with --train-steps N, the time of N training steps on 17x64x64 clips.
//   ninja -C build bench_vae
//   ./build/bench_vae --model out/vae_shapes/vae.safetensors [--clips 4] [--sizes 64x64,...]
//                     [--frames 1,9,17,33] [--seed 777001] [--reps 3] [--train-steps 0]
// Without --model it times a freshly initialised default model (PSNR is then meaningless).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>

#include "autograd/basic.h"
#include "autograd/loss.h"
#include "core/parallel.h"
#include "data/shapes_checker.h"
#include "data/shapes_dataset.h"
#include "data/shapes_raster.h"
#include "models/vae/vae.h"
#include "train/adamw.h"

using namespace cubist;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr const char* kUsage =
    "usage: bench_vae [--model VAE.safetensors] [--clips 4] [--sizes 32x32,64x64,...]\n"
    "                 [--frames 1,9,17,33] [--seed 777001] [--reps 3] [--train-steps 0]\n"
    "Reconstruction PSNR and checker verdicts on held-out Shapes World clips per size and\n"
    "length, then encode+decode time of a 17x64x64 clip (docs/PERFORMANCE.md). Without --model:\n"
    "a freshly initialised default model (timings only).\n";

// Every argument is a known "--option value" pair.
bool arguments_known(int argc, char** argv) {
  static const char* known[] = {"--model", "--clips", "--sizes",      "--frames",
                                "--seed",  "--reps",  "--train-steps"};
  for (int i = 1; i < argc; i += 2) {
    const bool ok = std::any_of(std::begin(known), std::end(known),
                                [&](const char* k) { return !std::strcmp(argv[i], k); });
    if (!ok || i + 1 >= argc) return false;
  }
  return true;
}

std::string arg(int argc, char** argv, const char* name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], name)) return argv[i + 1];
  return fallback;
}

void quality(const Vae& vae, uint64_t seed, const std::string& sizes, const std::string& frames,
             int64_t clips) {
  std::printf(
      "| size (WxH) | T | clips | PSNR dB (mean) | PSNR dB (min) | checker: recon right "
      "| checker: original right |\n|---|---|---|---|---|---|---|\n");
  double total = 0;
  int64_t n = 0, recon_ok = 0, orig_ok = 0;
  double worst = 99;
  double zsum = 0, zsq = 0, zn = 0;  // latent statistics, for the transformer's normalisation
  uint64_t index = 0;
  for (const shapes::ClipSize& size : shapes::parse_sizes(sizes))
    for (int t : shapes::parse_frame_counts(frames)) {
      double sum = 0, lo = 99;
      int64_t r_ok = 0, o_ok = 0;
      for (int64_t i = 0; i < clips; ++i, ++index) {
        const shapes::ShapesClip clip = shapes::make_clip(seed, index, {size}, {t});
        const Video v = shapes::render(clip.scene);
        const Tensor z = vae.encode_mean(video_to_tensor(v));
        for (float e : z.to_vector()) zsum += e, zsq += double(e) * e, zn += 1;
        const Video r = tensor_to_video(vae.decode_chunked(z, 1), v.fps);
        const double p = psnr(v, r);
        sum += p, lo = std::min(lo, p);
        r_ok += shapes::check_video(r, clip.caption).ok;
        o_ok += shapes::check_video(v, clip.caption).ok;
      }
      std::printf("| %dx%d | %d | %lld | %.2f | %.2f | %lld/%lld | %lld/%lld |\n", size.width,
                  size.height, t, static_cast<long long>(clips), sum / clips, lo,
                  static_cast<long long>(r_ok), static_cast<long long>(clips),
                  static_cast<long long>(o_ok), static_cast<long long>(clips));
      std::fflush(stdout);
      total += sum, n += clips, worst = std::min(worst, lo);
      recon_ok += r_ok, orig_ok += o_ok;
    }
  std::printf("| all | | %lld | %.2f | %.2f | %lld/%lld | %lld/%lld |\n\n",
              static_cast<long long>(n), total / n, worst, static_cast<long long>(recon_ok),
              static_cast<long long>(n), static_cast<long long>(orig_ok),
              static_cast<long long>(n));
  const double zmean = zsum / zn;
  std::printf("latent (posterior mean) over these clips: mean %.4f, std %.4f\n\n", zmean,
              std::sqrt(std::max(0.0, zsq / zn - zmean * zmean)));
}

void throughput(const Vae& vae, int reps) {
  const Video v = shapes::render(shapes::make_clip(1, 0, {{64, 64}}, {17}).scene);
  const Tensor x = video_to_tensor(v);
  double enc = 1e30, dec = 1e30;
  for (int i = 0; i <= reps; ++i) {  // the first run is a warm-up (oneDNN builds its kernels)
    const double t0 = now_s();
    const Tensor z = vae.encode_mean(x);
    const double t1 = now_s();
    vae.decode_chunked(z, 1);
    const double t2 = now_s();
    if (i > 0) enc = std::min(enc, t1 - t0), dec = std::min(dec, t2 - t1);
  }
  std::printf(
      "17x64x64 clip, %d threads: encode %.1f ms, decode %.1f ms (chunks of 1 latent "
      "frame), encode+decode %.1f ms = %.1f frames/s\n",
      num_threads(), enc * 1e3, dec * 1e3, (enc + dec) * 1e3, 17.0 / (enc + dec));
}

void train_steps(Vae& vae, int steps) {
  AdamW opt(vae.parameters(), {.lr = 1e-4f});
  Generator noise(3);
  double best = 1e30;
  for (int s = 0; s <= steps; ++s) {
    const Video v =
        shapes::render(shapes::make_clip(1, static_cast<uint64_t>(s), {{64, 64}}, {17}).scene);
    const double t0 = now_s();
    const Var x(video_to_tensor(v));
    const Posterior p = vae.encode(x);
    Tensor eps = Tensor::empty(p.mean.shape());
    noise.normal_(eps);
    const Var loss = mse_loss(vae.decode(sample_posterior(p.mean, p.logvar, eps)), x);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (s > 0) best = std::min(best, now_s() - t0);
  }
  std::printf(
      "training step on a 17x64x64 clip (forward, backward, AdamW), %d threads: best "
      "%.0f ms\n",
      num_threads(), best * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  const bool help = argc > 1 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"));
  if (help || !arguments_known(argc, argv)) {
    std::fputs(kUsage, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  const std::string model = arg(argc, argv, "--model", "");
  const int64_t clips = std::stoll(arg(argc, argv, "--clips", "4"));
  const std::string sizes =
      arg(argc, argv, "--sizes", "32x32,64x64,96x64,64x96,112x64,64x112,128x128");
  const std::string frames = arg(argc, argv, "--frames", "1,9,17,33");
  const uint64_t seed = std::stoull(arg(argc, argv, "--seed", "777001"));
  const int reps = std::stoi(arg(argc, argv, "--reps", "3"));
  const int train = std::stoi(arg(argc, argv, "--train-steps", "0"));
  try {
    std::unique_ptr<Vae> vae;
    if (model.empty()) {
      Generator gen(0);
      vae = std::make_unique<Vae>(VaeConfig(), gen);
      std::printf("untrained default model (%s, %lld parameters)\n",
                  vae->config().summary().c_str(), static_cast<long long>(vae->num_parameters()));
    } else {
      vae = load_vae(model);
      std::printf("%s (%s, %lld parameters), held-out seed %llu\n\n", model.c_str(),
                  vae->config().summary().c_str(), static_cast<long long>(vae->num_parameters()),
                  static_cast<unsigned long long>(seed));
      if (clips > 0) quality(*vae, seed, sizes, frames, clips);
    }
    if (reps > 0) throughput(*vae, reps);
    if (train > 0) train_steps(*vae, train);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vae: %s\n", e.what());
    return 1;
  }
  return 0;
}
