// bench_attention: times the tiled (flash) attention forward and forward+backward against the
// materialised version (two GEMMs and a softmax per head), for one DiT-S block's self-attention
// (H = 6 heads, head dim 64), and reports the allocator's peak bytes to show that the tiled
// version's memory grows linearly in the sequence length.
//
//   ./build/bench_attention [--flash-only] [S ...]
// Default sizes: 1024 4096; then the memory table at S = 4096 and 16384. --flash-only times only
// the tiled version and skips the memory table (for tuning).
//
// GFLOPS count 4·S²·D·H flops for the forward and 2.5 times that for the backward.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "ops/attention.h"
#include "ops/gemm.h"

namespace {

using namespace cubist;

Tensor random(const Dims& shape, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    f = lo + (hi - lo) * static_cast<float>(x >> 40) / static_cast<float>(1ull << 24);
  }
  return Tensor::from_vector(shape, v);
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Best wall time of `reps` runs. The machine may be shared, so the CPU time of the best run (all
// threads together, divided by the thread count) is returned too: wall time well above it means
// the threads were waiting for a core.
struct Timing {
  double wall = 1e30, cpu = 0;
};

Timing seconds(const std::function<void()>& fn, int reps) {
  fn();  // warm the allocator's cache and the code
  Timing best;
  for (int r = 0; r < reps; ++r) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (wall < best.wall) best = {wall, (cpu_seconds() - c0) / num_threads()};
  }
  return best;
}

// Peak allocator bytes while fn runs, above what was in use before it.
size_t peak_bytes(const std::function<void()>& fn) {
  Allocator::cpu().reset_peak();
  const size_t base = Allocator::cpu().stats().bytes_in_use;
  fn();
  return Allocator::cpu().stats().peak_bytes_in_use - base;
}

constexpr int64_t H = 6, D = 64;

void time_size(int64_t S, bool naive) {
  const Tensor q = random({S, H, D}, -2, 2, 1), k = random({S, H, D}, -2, 2, 2),
               v = random({S, H, D}, -1, 1, 3), g = random({S, H, D}, -1, 1, 4);
  const double flops = 4.0 * S * S * D * H;
  const int reps = S <= 1024 ? 5 : 2;
  ops::AttentionResult r;
  const Timing tf = seconds([&] { r = ops::attention_forward(q, k, v); }, reps);
  const Timing tb = seconds(
      [&] {
        r = ops::attention_forward(q, k, v);
        ops::attention_backward(q, k, v, r.out, r.lse, g);
      },
      reps);
  auto report = [&](const char* what, Timing t, double f) {
    std::printf("S=%6lld  %-14s %9.2f ms %6.1f GFLOPS   (cpu/thread %9.2f ms %6.1f GFLOPS)\n",
                static_cast<long long>(S), what, t.wall * 1e3, f / t.wall * 1e-9, t.cpu * 1e3,
                f / t.cpu * 1e-9);
  };
  report("flash fwd", tf, flops);
  report("flash fwd+bwd", tb, 3.5 * flops);
  if (naive)
    report("naive fwd", seconds([&] { ops::attention_forward_naive(q, k, v); }, reps), flops);
}

void memory_size(int64_t S, bool backward, bool naive) {
  const Tensor q = random({S, H, D}, -2, 2, 1), k = random({S, H, D}, -2, 2, 2),
               v = random({S, H, D}, -1, 1, 3), g = random({S, H, D}, -1, 1, 4);
  const double mib = 1.0 / (1 << 20);
  const size_t fwd = peak_bytes([&] { ops::attention_forward(q, k, v); });
  std::printf("S=%6lld  peak MiB: flash fwd %8.1f", static_cast<long long>(S), fwd * mib);
  if (backward) {
    const ops::AttentionResult r = ops::attention_forward(q, k, v);
    const size_t bwd = peak_bytes([&] { ops::attention_backward(q, k, v, r.out, r.lse, g); });
    std::printf(" | flash bwd %8.1f", bwd * mib);
  }
  if (naive) {
    const size_t nv = peak_bytes([&] { ops::attention_forward_naive(q, k, v); });
    std::printf(" | naive fwd %8.1f", nv * mib);
  }
  std::printf(" | S²·H·4 bytes %8.1f | q,k,v each %6.1f\n",
              static_cast<double>(S) * S * H * 4 * mib, static_cast<double>(S) * H * D * 4 * mib);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  bool flash_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--flash-only")
      flash_only = true;
    else
      sizes.push_back(std::atoll(argv[i]));
  }
  if (sizes.empty()) sizes = {1024, 4096};
  std::printf("attention H=%lld D=%lld, %d threads, gemm %s\n", static_cast<long long>(H),
              static_cast<long long>(D), num_threads(), ops::gemm_backend());
  for (int64_t S : sizes) time_size(S, !flash_only);
  if (flash_only) return 0;
  memory_size(4096, true, true);
  memory_size(16384, false, false);
  return 0;
}
