// Times ops::conv3d forward and backward with oneDNN against vol2col + GEMM on VAE-like shapes.
// Build and run (after building the library in build/):
//   ninja -C build bench_conv3d
//   ./build/bench_conv3d                                          # wall time, all threads
//   OMP_NUM_THREADS=1 CUBIST_BENCH_CPU_TIME=1 ./build/bench_conv3d  # CPU time of one thread
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>

#include "core/parallel.h"
#include "core/rng.h"
#include "ops/conv3d.h"

using namespace cubist;

namespace {

Tensor randn(const Dims& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Generator(seed).normal_(t, 0.0f, 1.0f);
  return t;
}

// Milliseconds of wall time, or of this process's CPU time with CUBIST_BENCH_CPU_TIME=1: on a
// shared machine, one thread's CPU time is far steadier than wall time.
double now_ms() {
  static const bool cpu = std::getenv("CUBIST_BENCH_CPU_TIME") != nullptr;
  if (cpu) {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Best of `reps` runs after one warm-up, in milliseconds.
double best_ms(const std::function<void()>& f, int reps) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now_ms();
    f();
    best = std::min(best, now_ms() - t0);
  }
  return best;
}

void bench(const char* name, Dims xs, Dims ws, ops::Conv3dParams p, int reps) {
  const Tensor x = randn(xs, 1), w = randn(ws, 2), b = randn({ws[0]}, 3);
  const Tensor dy = randn(ops::conv3d_output_shape(xs, ws, p), 4);
  const double flops = 2.0 * dy.numel() * ws[1] * ws[2] * ws[3] * ws[4];
  std::printf("%s x%s w%s\n", name, xs.str().c_str(), ws.str().c_str());
  for (auto algo : {ops::ConvAlgo::kOneDnn, ops::ConvAlgo::kVol2col}) {
    const double f = best_ms([&] { ops::conv3d(x, w, b, p, algo); }, reps);
    const double bd =
        best_ms([&] { ops::conv3d_backward(dy, x, w, p, true, false, false, algo); }, reps);
    const double bw =
        best_ms([&] { ops::conv3d_backward(dy, x, w, p, false, true, true, algo); }, reps);
    std::printf(
        "  %-8s fwd %7.2f ms (%5.0f GFLOP/s)  bwd_data %7.2f ms  bwd_weights %7.2f ms  "
        "total %7.2f ms\n",
        algo == ops::ConvAlgo::kOneDnn ? "oneDNN" : "vol2col", f, flops / f / 1e6, bd, bw,
        f + bd + bw);
  }
}

}  // namespace

int main() {
  std::printf("threads: %d, %s time\n", num_threads(),
              std::getenv("CUBIST_BENCH_CPU_TIME") ? "CPU" : "wall");
  ops::Conv3dParams causal;
  causal.padding = {0, 1, 1};
  causal.time_padding = ops::TimePadding::kCausalReplicate;
  bench("C64 causal 3x3x3", {1, 64, 9, 32, 32}, {64, 64, 3, 3, 3}, causal, 5);
  bench("C128 causal 3x3x3", {1, 128, 9, 16, 16}, {128, 128, 3, 3, 3}, causal, 5);
  ops::Conv3dParams down = causal;
  down.stride = {2, 2, 2};
  bench("C64 causal 3x3x3 stride 2", {1, 64, 9, 32, 32}, {64, 64, 3, 3, 3}, down, 5);
  bench("C3->64 causal 3x3x3 (input conv)", {1, 3, 9, 64, 64}, {64, 3, 3, 3, 3}, causal, 3);
  bench("C64->3 causal 3x3x3 (output conv)", {1, 64, 9, 64, 64}, {3, 64, 3, 3, 3}, causal, 3);
  bench("C64->128 1x1x1 (shortcut)", {1, 64, 9, 32, 32}, {128, 64, 1, 1, 1}, ops::Conv3dParams{},
        5);
  return 0;
}
