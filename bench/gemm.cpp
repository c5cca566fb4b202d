// bench_gemm: f32 GEMM throughput of the Debian BLAS libraries (OpenBLAS, BLIS, oneDNN) and of
// Cubist's own ops::gemm, on the shapes a DiT uses, side by side in one process.
//
//   OMP_PROC_BIND=close ./build/bench_gemm [--threads=2] [--reps=5] [--min-ms=40]
//                                         [--filter=SUBSTR] [--libs=openblas,blis,...]
//                                         [--ghz=G] [--flops-per-cycle=F]
//
// Each (library, shape) is warmed up once (which also builds and caches oneDNN's matmul
// primitive), then timed `reps` times; a timed run repeats the call until it lasts `min-ms`.
// The median run gives GFLOPS = 2*M*N*K / time. Prints a table and one JSON line per
// (library, shape), then a summary per library.
//
// Shapes, with weights laid out as torch.nn.Linear (W[out, in]) and X[T, in]:
//   fwd  Y  = X  * W^T   (NT)  M=T   N=out K=in
//   dx   dX = dY * W     (NN)  M=T   N=in  K=out
//   dw   dW = dY^T * X   (TN)  M=out N=in  K=T
// for the QKV projection (out=3D), attention output (D x D), MLP up (4D) and down (in=4D), with
// hidden D in {384, 1152} and T in {1024, 4096} tokens; plus attention tiles, timed both with the
// library's own threads ("mt") and as one call per OpenMP thread on separate tiles ("pt", the way
// a fused attention kernel would call it from inside a parallel loop).
//
// BLIS is called through its native API (bench/gemm_blis.cpp) because its cblas symbols clash
// with OpenBLAS's; the executable lists libopenblas before libblis, so cblas_sgemm is OpenBLAS's
// (checked at start-up with dladdr and printed).
#include <cblas.h>
#include <dlfcn.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ops/gemm.h"

namespace bench {

void blis_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                int threads);
const char* blis_arch();

struct Shape {
  std::string group;  // "dit" or "tile"
  std::string name;
  bool ta, tb;
  int64_t M, N, K;
  bool per_thread = false;  // "pt": one call per OpenMP thread, each on its own tile
  int64_t lda() const { return ta ? M : K; }
  int64_t ldb() const { return tb ? K : N; }
  int64_t ldc() const { return N; }
  double flops() const { return 2.0 * static_cast<double>(M) * static_cast<double>(N) * K; }
};

using GemmFn =
    std::function<void(const Shape&, const float* A, const float* B, float* C, int threads)>;

// oneDNN matmul with one primitive cached per (transposes, sizes): built once, reused by every
// call, as an engine would. Memory objects only wrap pointers and are made per call.
class DnnlMatmul {
 public:
  void run(const Shape& s, const float* A, const float* B, float* C) {
    using dnnl::memory;
    const memory::desc a = md(s.M, s.K, s.ta, s.lda()), b = md(s.K, s.N, s.tb, s.ldb()),
                       c = md(s.M, s.N, false, s.ldc());
    const dnnl::matmul& prim = get(s, a, b, c);
    thread_local dnnl::stream stream(engine_);
    prim.execute(stream, {{DNNL_ARG_SRC, memory(a, engine_, const_cast<float*>(A))},
                          {DNNL_ARG_WEIGHTS, memory(b, engine_, const_cast<float*>(B))},
                          {DNNL_ARG_DST, memory(c, engine_, C)}});
    stream.wait();
  }

 private:
  // A logical rows x cols matrix stored row-major with row stride ld, or its transpose.
  static dnnl::memory::desc md(int64_t rows, int64_t cols, bool trans, int64_t ld) {
    const dnnl::memory::dims strides =
        trans ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1};
    return {{rows, cols}, dnnl::memory::data_type::f32, strides};
  }
  const dnnl::matmul& get(const Shape& s, const dnnl::memory::desc& a, const dnnl::memory::desc& b,
                          const dnnl::memory::desc& c) {
    const auto key = std::make_tuple(s.ta, s.tb, s.M, s.N, s.K);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine_);
      it = cache_.emplace(key, dnnl::matmul(pd)).first;
    }
    return it->second;
  }
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  std::mutex mu_;
  std::map<std::tuple<bool, bool, int64_t, int64_t, int64_t>, dnnl::matmul> cache_;
};

struct Lib {
  std::string name;
  GemmFn fn;
};

std::vector<Lib> all_libs() {
  static DnnlMatmul matmul;
  return {
      {"openblas",
       [](const Shape& s, const float* A, const float* B, float* C, int threads) {
         openblas_set_num_threads(threads);
         cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans,
                     s.tb ? CblasTrans : CblasNoTrans, static_cast<int>(s.M), static_cast<int>(s.N),
                     static_cast<int>(s.K), 1.0f, A, static_cast<int>(s.lda()), B,
                     static_cast<int>(s.ldb()), 0.0f, C, static_cast<int>(s.ldc()));
       }},
      {"blis",
       [](const Shape& s, const float* A, const float* B, float* C, int threads) {
         blis_sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A, s.lda(), B, s.ldb(), 0.0f, C, s.ldc(),
                    threads);
       }},
      {"onednn_sgemm",
       [](const Shape& s, const float* A, const float* B, float* C, int) {
         dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.M, s.N, s.K, 1.0f, A, s.lda(), B, s.ldb(),
                    0.0f, C, s.ldc());
       }},
      {"onednn_matmul", [](const Shape& s, const float* A, const float* B, float* C,
                           int) { matmul.run(s, A, B, C); }},
      {std::string("ops::gemm(") + cubist::ops::gemm_backend() + ")",
       [](const Shape& s, const float* A, const float* B, float* C, int) {
         cubist::ops::gemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A, s.lda(), B, s.ldb(), 0.0f, C,
                           s.ldc());
       }},
  };
}

std::vector<Shape> all_shapes() {
  std::vector<Shape> out;
  for (int64_t D : {384, 1152}) {
    for (int64_t T : {1024, 4096}) {
      char prefix[32];
      std::snprintf(prefix, sizeof prefix, "D%ld T%ld ", D, T);
      const std::string p = prefix;
      const std::vector<std::tuple<std::string, int64_t, int64_t>> layers = {
          {"qkv", 3 * D, D}, {"proj", D, D}, {"mlp_up", 4 * D, D}, {"mlp_down", D, 4 * D}};
      for (const auto& [layer, n_out, n_in] : layers) {
        out.push_back({"dit", p + layer + " fwd", false, true, T, n_out, n_in});
        out.push_back({"dit", p + layer + " dx", false, false, T, n_in, n_out});
        out.push_back({"dit", p + layer + " dw", true, false, n_out, n_in, T});
      }
    }
  }
  const std::vector<std::tuple<std::string, bool, bool, int64_t, int64_t, int64_t>> tiles = {
      {"QK^T 128x128x64", false, true, 128, 128, 64},
      {"QK^T 256x256x64", false, true, 256, 256, 64},
      {"PV 128x64x128", false, false, 128, 64, 128},
      {"PV 128x64x256", false, false, 128, 64, 256},
      {"dS^T Q 128x64x128", true, false, 128, 64, 128},
  };
  for (bool pt : {false, true}) {
    for (const auto& [name, ta, tb, M, N, K] : tiles) {
      Shape s{"tile", std::string(pt ? "pt " : "mt ") + name, ta, tb, M, N, K};
      s.per_thread = pt;
      out.push_back(s);
    }
  }
  return out;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Buffers {
  std::vector<float> A, B;
  std::vector<std::vector<float>> C;  // one per thread (per-thread mode); C[0] otherwise
};

// Seconds per call: the median (and the fastest) of `reps` runs, each repeating the call until it
// lasts min_s.
// Per-thread mode counts one call per thread as `threads` calls' worth of work per iteration.
struct Timing {
  double median, best;  // seconds per call
};

Timing time_call(const Lib& lib, const Shape& s, Buffers& buf, int threads, int reps,
                 double min_s) {
  auto once = [&] {
    if (s.per_thread) {
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num();
        lib.fn(s, buf.A.data(), buf.B.data(), buf.C[static_cast<size_t>(t)].data(), 1);
      }
    } else {
      lib.fn(s, buf.A.data(), buf.B.data(), buf.C[0].data(), threads);
    }
  };
  once();  // warm-up: page faults, packing buffers, primitive creation
  const double t1 = now_s();
  once();
  const double single = std::max(now_s() - t1, 1e-7);
  const int iters = std::max(1, static_cast<int>(min_s / single));
  std::vector<double> runs;
  for (int r = 0; r < reps; ++r) {
    const double start = now_s();
    for (int i = 0; i < iters; ++i) once();
    runs.push_back((now_s() - start) / iters);
  }
  std::sort(runs.begin(), runs.end());
  const double calls = s.per_thread ? threads : 1;
  return {runs[runs.size() / 2] / calls, runs[0] / calls};
}

double max_rel_err(const std::vector<float>& a, const std::vector<float>& ref, size_t n) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - ref[i])));
    mag = std::max(mag, static_cast<double>(std::fabs(ref[i])));
  }
  return mag > 0 ? diff / mag : diff;
}

// The clock the cores run FMA code at: each thread times many short bursts of 16 independent
// chains of 512-bit FMAs (enough to cover the FMA latency), and keeps its fastest burst. A burst
// lasts about a millisecond, so on a machine shared with other work most bursts still run
// undisturbed. Zen 4 issues one 512-bit FMA per cycle per core (both 256-bit FMA pipes), so
// FMAs / seconds is the clock. Returns the mean over the threads, in GHz.
double measure_fma_ghz(int threads) {
  constexpr int kChains = 16, kBursts = 200;
  constexpr int64_t kIters = 200'000;
  double sum_ghz = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum_ghz)
  {
    double best = 1e30;
    float sink = 0;
    for (int burst = 0; burst < kBursts; ++burst) {
      __m512 acc[kChains];
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c) * 1e-3f);
      const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
      const double start = now_s();
      for (int64_t i = 0; i < kIters; ++i) {
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
      }
      __m512 t = acc[0];
      for (int c = 1; c < kChains; ++c) t = _mm512_add_ps(t, acc[c]);
      alignas(64) float lanes[16];
      _mm512_store_ps(lanes, t);
      best = std::min(best, now_s() - start);
      for (float lane : lanes) sink += lane;
    }
    if (sink == 12345.0f) std::printf(" ");  // keeps the loop alive
    sum_ghz += static_cast<double>(kIters) * kChains / best * 1e-9;
  }
  return sum_ghz / threads;
}

double cpu_mhz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1));
  return 0;
}

std::string arg(int argc, char** argv, const std::string& key, const std::string& dflt) {
  const std::string k = "--" + key + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], k.c_str(), k.size()) == 0) return argv[i] + k.size();
  return dflt;
}

const char* library_of(void* fn) {
  Dl_info info;
  return dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
}

struct Result {
  std::string lib, group;
  double flops, seconds;
};

void print_summary(const std::vector<Lib>& libs, const std::vector<Result>& results, double peak) {
  std::printf("\nSummary (peak %.1f GFLOPS):\n", peak);
  std::printf("%-22s %14s %10s %12s %14s\n", "library", "DiT aggregate", "DiT best", "tile mt/pt",
              "DiT agg %peak");
  for (const Lib& l : libs) {
    double dit_f = 0, dit_s = 0, best = 0, tile_f = 0, tile_s = 0;
    for (const Result& r : results) {
      if (r.lib != l.name) continue;
      const double g = r.flops / r.seconds * 1e-9;
      if (r.group == "dit") {
        dit_f += r.flops, dit_s += r.seconds, best = std::max(best, g);
      } else {
        tile_f += r.flops, tile_s += r.seconds;
      }
    }
    if (dit_s == 0 && tile_s == 0) continue;
    const double agg = dit_s > 0 ? dit_f / dit_s * 1e-9 : 0;
    const double tile = tile_s > 0 ? tile_f / tile_s * 1e-9 : 0;
    std::printf("%-22s %14.1f %10.1f %12.1f %13.1f%%\n", l.name.c_str(), agg, best, tile,
                100 * agg / peak);
    std::printf(
        "{\"summary\":true,\"lib\":\"%s\",\"dit_aggregate_gflops\":%.2f,\"dit_best_gflops\":%.2f,"
        "\"tile_aggregate_gflops\":%.2f,\"peak_gflops\":%.2f}\n",
        l.name.c_str(), agg, best, tile, peak);
  }
}

int run(int argc, char** argv) {
  const int threads = std::stoi(arg(argc, argv, "threads", "2"));
  const int reps = std::stoi(arg(argc, argv, "reps", "5"));
  const double min_s = std::stod(arg(argc, argv, "min-ms", "40")) * 1e-3;
  const std::string filter = arg(argc, argv, "filter", "");
  const std::string libs_arg = arg(argc, argv, "libs", "");
  // Zen 4: two 256-bit FMA pipes per core; a 512-bit FMA takes both, so 16 f32 FMAs = 32 flops
  // per cycle. The clock is what the FMA loop runs at (the VM's cpuinfo MHz is the nominal
  // base clock; the core boosts above it), unless --ghz gives one.
  const double fpc = std::stod(arg(argc, argv, "flops-per-cycle", "32"));
  const double fma_ghz = measure_fma_ghz(threads);
  const double ghz = std::stod(arg(argc, argv, "ghz", std::to_string(fma_ghz)));
  const double peak = ghz * fpc * threads;
  omp_set_num_threads(threads);

  std::printf("threads %d, reps %d (median), min %.0f ms per run\n", threads, reps, min_s * 1e3);
  std::printf(
      "FMA bursts run at %.3f GHz (one 512-bit FMA per cycle assumed); cpuinfo nominal "
      "clock %.3f GHz\n",
      fma_ghz, cpu_mhz() / 1000);
  std::printf("peak = %.3f GHz x %.0f f32 flop/cycle/core x %d cores = %.1f GFLOPS\n", ghz, fpc,
              threads, peak);
  std::printf(
      "{\"peak\":true,\"fma_ghz\":%.3f,\"ghz\":%.3f,\"nominal_ghz\":%.3f,"
      "\"flops_per_cycle_per_core\":%.0f,\"threads\":%d,\"peak_gflops\":%.2f}\n",
      fma_ghz, ghz, cpu_mhz() / 1000, fpc, threads, peak);
  std::printf("openblas %s (core %s); cblas_sgemm from %s\n", openblas_get_config(),
              openblas_get_corename(), library_of(reinterpret_cast<void*>(&cblas_sgemm)));
  const dnnl_version_t* v = dnnl_version();
  std::printf("blis arch %s; onednn %d.%d.%d\n\n", blis_arch(), v->major, v->minor, v->patch);

  std::vector<std::string> wanted;
  for (size_t at = 0; at < libs_arg.size();) {
    const size_t comma = std::min(libs_arg.find(',', at), libs_arg.size());
    wanted.push_back(libs_arg.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<Lib> libs;
  for (const Lib& l : all_libs()) {
    const std::string base = l.name.substr(0, l.name.find('('));
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), base) != wanted.end())
      libs.push_back(l);
  }
  std::vector<Shape> shapes;
  for (const Shape& s : all_shapes())
    if ((s.group + " " + s.name).find(filter) != std::string::npos) shapes.push_back(s);

  size_t na = 0, nb = 0, nc = 0;
  for (const Shape& s : shapes) {
    na = std::max(na, static_cast<size_t>(s.M * s.K));
    nb = std::max(nb, static_cast<size_t>(s.K * s.N));
    nc = std::max(nc, static_cast<size_t>(s.M * s.N));
  }
  Buffers buf;
  std::mt19937 gen(1);
  std::normal_distribution<float> nd;
  buf.A.resize(na);
  buf.B.resize(nb);
  for (float& x : buf.A) x = nd(gen);
  for (float& x : buf.B) x = nd(gen);
  buf.C.assign(static_cast<size_t>(threads), std::vector<float>(nc));
  std::vector<float> ref(nc);

  std::printf("%-22s %-28s %3s %6s %6s %6s %10s %9s %7s %9s\n", "library", "shape", "op", "M", "N",
              "K", "ms", "GFLOPS", "%peak", "rel_err");
  std::vector<Result> results;
  for (const Shape& s : shapes) {
    for (size_t li = 0; li < libs.size(); ++li) {
      const Lib& l = libs[li];
      const Timing tm = time_call(l, s, buf, threads, reps, min_s);
      const double sec = tm.median;
      const size_t n = static_cast<size_t>(s.M * s.N);
      if (li == 0)
        std::copy(buf.C[0].begin(), buf.C[0].begin() + static_cast<long>(n), ref.begin());
      const double err = max_rel_err(buf.C[0], ref, n);
      const double gf = s.flops() / sec * 1e-9;
      const std::string op = std::string(s.ta ? "T" : "N") + (s.tb ? "T" : "N");
      std::printf("%-22s %-28s %3s %6ld %6ld %6ld %10.4f %9.1f %6.1f%% %9.1e\n", l.name.c_str(),
                  s.name.c_str(), op.c_str(), s.M, s.N, s.K, sec * 1e3, gf, 100 * gf / peak, err);
      std::printf(
          "{\"lib\":\"%s\",\"group\":\"%s\",\"shape\":\"%s\",\"op\":\"%s\",\"M\":%ld,\"N\":%ld,"
          "\"K\":%ld,\"threads\":%d,\"median_ms\":%.5f,\"gflops\":%.2f,\"best_gflops\":%.2f,"
          "\"peak_frac\":%.4f,\"rel_err\":%.2e}\n",
          l.name.c_str(), s.group.c_str(), s.name.c_str(), op.c_str(), s.M, s.N, s.K, threads,
          sec * 1e3, gf, s.flops() / tm.best * 1e-9, gf / peak, err);
      std::fflush(stdout);
      results.push_back({l.name, s.group, s.flops(), sec});
    }
  }
  print_summary(libs, results, peak);
  return 0;
}

}  // namespace bench

int main(int argc, char** argv) { return bench::run(argc, argv); }
