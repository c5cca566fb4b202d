// The video autoencoder's benchmark (docs/PERFORMANCE.md, "Video autoencoder"):
//   1. reconstruction PSNR on held-out Shapes World clips (a seed no training run uses) for every
//      size and length asked, and whether the Shapes World checker still judges every object of
//      the reconstruction right (next to how it judges the original clip);
//   2. encode + decode throughput of a 17x64x64 clip (best of --reps, wall time);
//   3. with --train-steps N, the time of N training steps on 17x64x64 clips;
//   with --refine N, every clip also encoded by N steps of refinement (models/vae/refine.h),
//   its PSNR and checker verdicts beside the encoder's own.
//   ninja -C build bench_vae
//   ./build/bench_vae --model out/vae_shapes/vae.safetensors [--clips 4] [--sizes 64x64,...]
//                     [--frames 1,9,17,33] [--seed 777001] [--reps 3] [--train-steps 0]
//                     [--refine 0] [--refine-lr 0.1] [--refine-chunk -1]
//                     [--refine-lookahead 1]
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
#include "models/vae/refine.h"
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
    "                 [--refine 0] [--refine-lr 0.1] [--refine-chunk -1]\n"
    "                 [--refine-lookahead 1]\n"
    "Reconstruction PSNR and checker verdicts on held-out Shapes World clips per size and\n"
    "length, then encode+decode time of a 17x64x64 clip (docs/PERFORMANCE.md). Without --model:\n"
    "a freshly initialised default model (timings only). --refine N: the same clips encoded by\n"
    "N steps of refinement too (`cubist vae encode --refine N`), side by side; --refine-chunk L\n"
    "refines L latent frames at a time (0: the whole clip; -1: whole when it fits memory),\n"
    "--refine-lookahead 0 without the next chunk in each chunk's window.\n";

// Every argument is a known "--option value" pair.
bool arguments_known(int argc, char** argv) {
  static const char* known[] = {"--model",     "--clips",        "--sizes",           "--frames",
                                "--seed",      "--reps",         "--train-steps",     "--refine",
                                "--refine-lr", "--refine-chunk", "--refine-lookahead"};
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

// One size and length's clips: PSNR and the checker's verdicts.
struct Cell {
  double sum = 0, lo = 99;
  int64_t ok = 0;
  void add(const Video& v, const Video& r, const std::string& caption) {
    const double p = psnr(v, r);
    sum += p, lo = std::min(lo, p);
    ok += shapes::check_video(r, caption).ok;
  }
};

void quality(const Vae& vae, uint64_t seed, const std::string& sizes, const std::string& frames,
             int64_t clips, const RefineOptions& refine) {
  const bool refined = refine.steps > 0;
  std::printf("| size (WxH) | T | clips | PSNR dB (mean) | PSNR dB (min) | checker: recon right ");
  if (refined)
    std::printf("| refined %lld steps: PSNR dB (mean) | (min) | checker | s a clip ",
                static_cast<long long>(refine.steps));
  std::printf("| checker: original right |\n|---|---|---|---|---|---|%s---|\n",
              refined ? "---|---|---|---|" : "");
  Cell all, all_refined;
  int64_t n = 0, orig_ok = 0;
  double refine_s = 0;
  double zsum = 0, zsq = 0, zn = 0;  // latent statistics, for the transformer's normalisation
  uint64_t index = 0;
  for (const shapes::ClipSize& size : shapes::parse_sizes(sizes))
    for (int t : shapes::parse_frame_counts(frames)) {
      Cell cell, cell_refined;
      int64_t o_ok = 0;
      double cell_s = 0;
      for (int64_t i = 0; i < clips; ++i, ++index) {
        const shapes::ShapesClip clip = shapes::make_clip(seed, index, {size}, {t});
        const Video v = shapes::render(clip.scene);
        const Tensor x = video_to_tensor(v);
        const Tensor z = vae.encode_mean(x);
        for (float e : z.to_vector()) zsum += e, zsq += double(e) * e, zn += 1;
        cell.add(v, tensor_to_video(vae.decode_chunked(z, 1), v.fps), clip.caption);
        o_ok += shapes::check_video(v, clip.caption).ok;
        if (!refined) continue;
        const double t0 = now_s();
        const Tensor zr = refine_latent(vae, x, z, refine);
        cell_s += now_s() - t0;
        cell_refined.add(v, tensor_to_video(vae.decode_chunked(zr, 1), v.fps), clip.caption);
      }
      const auto ll = [](int64_t v) { return static_cast<long long>(v); };
      std::printf("| %dx%d | %d | %lld | %.2f | %.2f | %lld/%lld ", size.width, size.height, t,
                  ll(clips), cell.sum / clips, cell.lo, ll(cell.ok), ll(clips));
      if (refined)
        std::printf("| %.2f | %.2f | %lld/%lld | %.1f ", cell_refined.sum / clips, cell_refined.lo,
                    ll(cell_refined.ok), ll(clips), cell_s / clips);
      std::printf("| %lld/%lld |\n", ll(o_ok), ll(clips));
      std::fflush(stdout);
      all.sum += cell.sum, all.lo = std::min(all.lo, cell.lo), all.ok += cell.ok;
      all_refined.sum += cell_refined.sum, all_refined.ok += cell_refined.ok;
      all_refined.lo = std::min(all_refined.lo, cell_refined.lo);
      n += clips, orig_ok += o_ok, refine_s += cell_s;
    }
  const auto ll = [](int64_t v) { return static_cast<long long>(v); };
  std::printf("| all | | %lld | %.2f | %.2f | %lld/%lld ", ll(n), all.sum / n, all.lo, ll(all.ok),
              ll(n));
  if (refined)
    std::printf("| %.2f | %.2f | %lld/%lld | %.1f ", all_refined.sum / n, all_refined.lo,
                ll(all_refined.ok), ll(n), refine_s / n);
  std::printf("| %lld/%lld |\n\n", ll(orig_ok), ll(n));
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
  const RefineOptions refine{.steps = std::stoll(arg(argc, argv, "--refine", "0")),
                             .lr = std::stof(arg(argc, argv, "--refine-lr", "0.1")),
                             .chunk_latents = std::stoll(arg(argc, argv, "--refine-chunk", "-1")),
                             .lookahead = arg(argc, argv, "--refine-lookahead", "1") != "0"};
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
      if (clips > 0) quality(*vae, seed, sizes, frames, clips, refine);
    }
    if (reps > 0) throughput(*vae, reps);
    if (train > 0) train_steps(*vae, train);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vae: %s\n", e.what());
    return 1;
  }
  return 0;
}
