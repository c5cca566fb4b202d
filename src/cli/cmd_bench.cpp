// `cubist bench block`: times one DiT block forward and forward+backward and prints one JSON
// line. bench/block.py runs the same block in PyTorch beside it and prints the ratio.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "autograd/basic.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/allocator.h"
#include "core/parallel.h"
#include "models/dit/block.h"
#include "ops/gemm.h"

namespace cubist::cli {

namespace {

const char* kUsage =
    "usage: cubist bench block [--hidden 384] [--heads 6] [--tokens 1024] [--batch 1]\n"
    "                          [--iters 5] [--qk-norm] [--rope]\n"
    "Times one DiT block (adaLN-Zero, self-attention, MLP ratio 4) in f32, forward and\n"
    "forward+backward, and prints one JSON line.\n";

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double time_ms(int iters, F&& f) {
  f();  // warm-up: fills the allocator's cache and the BLAS's buffers
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  return median_ms(t);
}

Tensor grid_positions(int64_t b, int64_t n) {
  // Tokens laid out on a square-ish (1, h, w) grid, as one frame's patches would be.
  int64_t w = 1;
  while (w * w < n) ++w;
  Tensor p = Tensor::empty({b * n, 3});
  float* d = p.data<float>();
  for (int64_t i = 0; i < b * n; ++i) {
    const int64_t j = i % n;
    d[3 * i] = 0;
    d[3 * i + 1] = static_cast<float>(j / w);
    d[3 * i + 2] = static_cast<float>(j % w);
  }
  return p;
}

int bench_block(Args& args) {
  if (args.flag("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  DiTBlockConfig cfg;
  cfg.hidden = args.integer("--hidden", 384);
  cfg.heads = args.integer("--heads", 6);
  const int64_t n = args.integer("--tokens", 1024), b = args.integer("--batch", 1);
  const int iters = static_cast<int>(args.integer("--iters", 5));
  cfg.qk_norm = args.flag("--qk-norm");
  cfg.rope = args.flag("--rope");
  args.finish();
  if (n < 1 || b < 1 || iters < 1 || cfg.hidden < 1 || cfg.heads < 1)
    throw UsageError("--tokens, --batch, --iters, --hidden and --heads must be positive");

  Generator gen(0);
  DiTBlock block(cfg, gen);
  Var x(Tensor::empty({b, n, cfg.hidden}), true), c(Tensor::empty({b, cfg.hidden}), true);
  gen.normal_(x.value());
  gen.normal_(c.value());
  const Tensor pos = cfg.rope ? grid_positions(b, n) : Tensor();
  const Tensor seed = Tensor::full({b, n, cfg.hidden}, 1.0f);

  const double fwd = time_ms(iters, [&] {
    NoGrad no_grad;
    block.forward(x, c, pos);
  });
  Allocator::cpu().reset_peak();
  const double fwd_bwd = time_ms(iters, [&] { block.forward(x, c, pos).backward(seed); });
  const size_t peak = Allocator::cpu().stats().peak_bytes_in_use;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);

  // Forward FLOPs: the linears (QKV 3D², output D², MLP 2·ratio·D²; 2 flops per multiply-add)
  // and attention (Q·Kᵀ and P·V: 4·N²·D per clip). Backward counted as twice the forward.
  const double s = static_cast<double>(b * n), d = static_cast<double>(cfg.hidden);
  const double flops = 2 * s * d * d * (4 + 2 * cfg.mlp_ratio) + 4.0 * b * double(n) * n * d;
  std::printf(
      "{\"bench\": \"block\", \"hidden\": %lld, \"heads\": %lld, \"tokens\": %lld, \"batch\": "
      "%lld, "
      "\"fwd_ms\": %.2f, \"fwd_bwd_ms\": %.2f, \"gflops\": %.1f, \"fwd_bwd_gflops\": %.1f, "
      "\"peak_tensor_mb\": %.1f, \"max_rss_mb\": %.1f, \"threads\": %d, \"gemm\": \"%s\"}\n",
      static_cast<long long>(cfg.hidden), static_cast<long long>(cfg.heads),
      static_cast<long long>(n), static_cast<long long>(b), fwd, fwd_bwd, flops / fwd / 1e6,
      3 * flops / fwd_bwd / 1e6, double(peak) / (1 << 20), double(ru.ru_maxrss) / 1024,
      num_threads(), ops::gemm_backend());
  return 0;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  if (argc >= 1 && (std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (argc < 1 || std::string(argv[0]) != "block")
    throw UsageError(std::string("the benchmarks are: block\n") + kUsage);
  Args args(argc - 1, argv + 1);
  return bench_block(args);
}

}  // namespace cubist::cli
