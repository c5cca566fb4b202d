// FlashAttention-2 on the CPU. The tile products run on register-blocked micro-kernels written
// with GCC/Clang vector extensions (16 floats per vector: one AVX-512 register with -march=native
// on Zen 4, several narrower ones elsewhere), so no tile ever goes through a BLAS call (ops::gemm
// serves only the materialised reference, attention_forward_naive).
//
// Before the tile loops, the operands are repacked per head into zero-padded, contiguous layouts
// (linear in the sequence length): keys both as Kᵀ in tile-major blocks (one D x kBlockK block per
// key tile: the B operand of q·kᵀ) and as K [Skv'][D'], values as V [Skv'][Dv'] (and Vᵀ,
// tile-major, in the backward). Each key sequence starts at a multiple of kBlockK in Skv', and D',
// Dv' are D, Dv rounded up to 16, so every vector load of a micro-kernel is in bounds and padding
// contributes zeros.
//
// Scores are kept in base 2: t = s · log2(e) with s = scale · q·k, so softmax weights are
// exp2(t - max) and lse = ln(2) · (max + log2(sum)).
#include "ops/attention.h"

#include <omp.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/parallel.h"
#include "ops/check.h"
#include "ops/gemm.h"

namespace cubist::ops {
namespace {

// ---------------------------------------------------------------------------------------------
// 16-float vectors.

constexpr int64_t kVec = 16;
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

inline v16 load(const float* p) {
  v16 r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
inline void store(float* p, v16 x) { std::memcpy(p, &x, sizeof x); }
inline v16 splat(float x) {
#if defined(__AVX512F__)
  return _mm512_set1_ps(x);
#else
  return v16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#endif
}
// a * b + c, fused where the target has FMA (ISO C++ mode does not contract a * b + c).
inline v16 fmadd(v16 a, v16 b, v16 c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}
template <typename V>
inline V vmax(V a, V b) {
  return a > b ? a : b;
}
// Horizontal max and sum by halving (pairwise, in a fixed order).
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
inline v4 halve_max(v16 x) {
  const v8 a = vmax(v8(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7)),
                    v8(__builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15)));
  return vmax(v4(__builtin_shufflevector(a, a, 0, 1, 2, 3)),
              v4(__builtin_shufflevector(a, a, 4, 5, 6, 7)));
}
inline float hmax(v16 x) {
  const v4 b = halve_max(x);
  return std::max(std::max(b[0], b[1]), std::max(b[2], b[3]));
}
inline float hsum(v16 x) {
  const v8 a = v8(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7)) +
               v8(__builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15));
  const v4 b =
      v4(__builtin_shufflevector(a, a, 0, 1, 2, 3)) + v4(__builtin_shufflevector(a, a, 4, 5, 6, 7));
  return (b[0] + b[1]) + (b[2] + b[3]);
}

// 2^x for x <= 127, relative error about 1e-7; 0 at or below -127 (so -inf, used for masking,
// gives exactly 0). x = n + f with n = round(x), |f| <= 1/2; 2^f = e^(f ln 2) by its degree-7
// Taylor polynomial, and 2^n is built in the exponent bits (n = -127 gives the bits of +0).
inline v16 exp2v(v16 x) {
  // Written so that a NaN passes through both clamps (and poisons the row, as it should).
  const v16 lo = splat(-127.0f), hi = splat(127.0f);
  v16 xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const v16 magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const v16 y = xc + magic;
  const v16 t = (xc - (y - magic)) * splat(0.69314718056f);
  v16 p = splat(1.0f / 5040);
  p = fmadd(p, t, splat(1.0f / 720));
  p = fmadd(p, t, splat(1.0f / 120));
  p = fmadd(p, t, splat(1.0f / 24));
  p = fmadd(p, t, splat(1.0f / 6));
  p = fmadd(p, t, splat(0.5f));
  p = fmadd(p, t, splat(1.0f));
  p = fmadd(p, t, splat(1.0f));
  const v16i n = (v16i)y - (v16i)magic;
  const v16i e = (n + 127) << 23;
  return p * (v16)e;
}

// The lanes of a vector starting at column j0 that lie at or past `valid` become -inf.
inline v16 mask_tail(v16 x, int64_t j0, int64_t valid) {
  const v16 iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return iota + splat(static_cast<float>(j0)) < splat(static_cast<float>(valid))
             ? x
             : splat(-std::numeric_limits<float>::infinity());
}

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

constexpr int64_t kBlockQ = 64;   // query rows per tile
constexpr int64_t kBlockK = 128;  // keys per tile (measured: a few % faster than 64)

// ---------------------------------------------------------------------------------------------
// Register-blocked tile products:
//   C[M][N] = init(C) + sum_k A(m, k) · B[k][N],   A(m, k) = A[m * ars + k * aks]
// A is read by broadcasts, so it may be stored either way round (A or Aᵀ); B and C are read by
// vectors, so N must be a multiple of 16 and B, C rows padded to match. init is 0, C itself, or
// C scaled row by row (the online softmax's rescaling of the running output).

enum class Init { kZero, kAccumulate, kScaleRows };

constexpr int kMr = 6;     // rows per micro-kernel
constexpr int kNvMax = 4;  // vectors per row: 6 x 4 accumulators leave registers for B

template <int R, int NV>
void micro_kernel(int64_t K, const float* A, int64_t ars, int64_t aks, const float* B, int64_t ldb,
                  float* C, int64_t ldc, Init init, const float* row_scale) {
  v16 c[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      if (init == Init::kZero)
        c[r][v] = v16{};
      else if (init == Init::kAccumulate)
        c[r][v] = load(C + r * ldc + v * kVec);
      else
        c[r][v] = load(C + r * ldc + v * kVec) * row_scale[r];
    }
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    v16 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * kVec);
    const float* a = A + k * aks;
    for (int r = 0; r < R; ++r) {
      const v16 ar = splat(a[r * ars]);
      for (int v = 0; v < NV; ++v) c[r][v] = fmadd(ar, bv[v], c[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + v * kVec, c[r][v]);
}

using MicroKernel = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                             int64_t, Init, const float*);

template <int R>
MicroKernel pick_nv(int64_t nv) {
  switch (nv) {
    case 1:
      return micro_kernel<R, 1>;
    case 2:
      return micro_kernel<R, 2>;
    case 3:
      return micro_kernel<R, 3>;
    default:
      return micro_kernel<R, 4>;
  }
}

MicroKernel pick(int64_t rows, int64_t nv) {
  switch (rows) {
    case 1:
      return pick_nv<1>(nv);
    case 2:
      return pick_nv<2>(nv);
    case 3:
      return pick_nv<3>(nv);
    case 4:
      return pick_nv<4>(nv);
    case 5:
      return pick_nv<5>(nv);
    default:
      return pick_nv<6>(nv);
  }
}

void tile_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t aks,
               const float* B, int64_t ldb, float* C, int64_t ldc, Init init,
               const float* row_scale = nullptr) {
  for (int64_t n0 = 0; n0 < N; n0 += kNvMax * kVec) {
    const int64_t nv = std::min<int64_t>(kNvMax, (N - n0) / kVec);
    for (int64_t m0 = 0; m0 < M; m0 += kMr) {
      const int64_t rows = std::min<int64_t>(kMr, M - m0);
      pick(rows, nv)(K, A + m0 * ars, ars, aks, B + n0, ldb, C + m0 * ldc + n0, ldc, init,
                     row_scale ? row_scale + m0 : nullptr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shapes, sequences and packed operands.

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

struct Problem {
  int64_t Sq, Skv, H, D, Dv, Dp, Dvp;
  float scale;
  // Per sequence: first query row, query count, first key row, key count, first padded key
  // column (a multiple of kBlockK). skvp: padded key columns in all.
  std::vector<int64_t> q0, ql, k0, kl, kp0;
  int64_t skvp = 0;
};

std::vector<int64_t> lengths_or_whole(const std::vector<int64_t>& lens, int64_t total) {
  return lens.empty() ? std::vector<int64_t>{total} : lens;
}

void check_seqlens(const char* op, const char* name, const std::vector<int64_t>& lens,
                   int64_t total, const char* tensor) {
  int64_t sum = 0;
  for (int64_t n : lens) {
    CUBIST_CHECK(n >= 0, op, ": ", name, " has a negative length ", n);
    sum += n;
  }
  CUBIST_CHECK(sum == total, op, ": ", name, " sums to ", sum, " but ", tensor, " has ", total,
               " tokens (the lengths must add up to the token count; empty means one sequence)");
}

Problem make_problem(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                     const std::vector<int64_t>& seqlens_q, const std::vector<int64_t>& seqlens_kv,
                     float scale) {
  check_f32(op, "q", q);
  check_f32(op, "k", k);
  check_f32(op, "v", v);
  check_dim(op, "q [Sq, H, D]", q, 3);
  check_dim(op, "k [Skv, H, D]", k, 3);
  check_dim(op, "v [Skv, H, Dv]", v, 3);
  CUBIST_CHECK(q.size(1) == k.size(1) && k.size(1) == v.size(1), op,
               ": q, k, v must have the same number of heads, got shapes ", q.shape(), ", ",
               k.shape(), ", ", v.shape());
  CUBIST_CHECK(q.size(2) == k.size(2), op, ": q and k must have the same head dim, got ", q.shape(),
               " and ", k.shape());
  CUBIST_CHECK(k.size(0) == v.size(0), op, ": k and v must have the same token count, got ",
               k.shape(), " and ", v.shape());
  CUBIST_CHECK(q.size(2) > 0 && v.size(2) > 0, op, ": head dims must be positive, got ", q.shape(),
               " and ", v.shape());
  CUBIST_CHECK(std::isfinite(scale) && scale >= 0.0f, op,
               ": scale must be positive (or 0 for 1/sqrt(D)), got ", scale);
  Problem p;
  p.Sq = q.size(0);
  p.Skv = k.size(0);
  p.H = q.size(1);
  p.D = q.size(2);
  p.Dv = v.size(2);
  p.Dp = round_up(p.D, kVec);
  p.Dvp = round_up(p.Dv, kVec);
  p.scale = scale > 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(p.D));
  const std::vector<int64_t> lq = lengths_or_whole(seqlens_q, p.Sq);
  const std::vector<int64_t> lk = lengths_or_whole(seqlens_kv, p.Skv);
  CUBIST_CHECK(lq.size() == lk.size(), op, ": seqlens_q has ", lq.size(),
               " sequences but seqlens_kv has ", lk.size(), " (query sequence i attends to key ",
               "sequence i, so the counts must be equal)");
  check_seqlens(op, "seqlens_q", lq, p.Sq, "q");
  check_seqlens(op, "seqlens_kv", lk, p.Skv, "k");
  int64_t qa = 0, ka = 0;
  for (size_t s = 0; s < lq.size(); ++s) {
    p.q0.push_back(qa);
    p.ql.push_back(lq[s]);
    p.k0.push_back(ka);
    p.kl.push_back(lk[s]);
    p.kp0.push_back(p.skvp);
    qa += lq[s];
    ka += lk[s];
    p.skvp += round_up(lk[s], kBlockK);
  }
  return p;
}

int64_t num_seqs(const Problem& p) { return static_cast<int64_t>(p.ql.size()); }

// x [S, H, n] -> out [H][S][np] (rows padded with zeros to np columns). `rows_of(i)` gives the
// destination row of source token i (padded key positions for keys, i itself for queries).
template <typename RowOf>
Tensor pack_rows(const Tensor& x, int64_t rows_out, int64_t np, RowOf rows_of) {
  const int64_t S = x.size(0), H = x.size(1), n = x.size(2);
  Tensor out = Tensor::zeros({H, rows_out, np});
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  parallel_for(S, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(dst + (h * rows_out + rows_of(i)) * np, src + (i * H + h) * n,
                    sizeof(float) * static_cast<size_t>(n));
  });
  return out;
}

// x [Skv, H, n] -> out [H][skvp / kBlockK][n][kBlockK]: per head and key tile, a contiguous
// n x kBlockK block with one column per padded key position. (Row-major [n][skvp] would put the
// rows of a tile a multiple of 4 KiB apart, where they collide in the L1 cache.)
Tensor pack_keys_transposed(const Problem& p, const Tensor& x) {
  const int64_t H = x.size(1), n = x.size(2);
  Tensor out = Tensor::zeros({H, p.skvp / kBlockK, n, kBlockK});
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  parallel_for(H * num_seqs(p), 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t h = t / num_seqs(p), s = t % num_seqs(p);
      for (int64_t j = 0; j < p.kl[s]; ++j) {
        const float* row = src + ((p.k0[s] + j) * H + h) * n;
        const int64_t c = p.kp0[s] + j;
        float* col = dst + (h * p.skvp / kBlockK + c / kBlockK) * n * kBlockK + c % kBlockK;
        for (int64_t d = 0; d < n; ++d) col[d * kBlockK] = row[d];
      }
    }
  });
  return out;
}

// The n x kBlockK block of a tile-major transposed pack for head h and padded key column c (a
// multiple of kBlockK).
inline const float* key_tile_block(const Tensor& packed, int64_t h, int64_t c, int64_t n,
                                   int64_t skvp) {
  return packed.data<float>() + (h * skvp / kBlockK + c / kBlockK) * n * kBlockK;
}

// Maps key token i to its padded position.
struct KeyRow {
  const Problem& p;
  std::vector<int64_t> seq_of;
  explicit KeyRow(const Problem& pr) : p(pr), seq_of(static_cast<size_t>(pr.Skv)) {
    for (int64_t s = 0; s < num_seqs(p); ++s)
      for (int64_t j = 0; j < p.kl[s]; ++j) seq_of[static_cast<size_t>(p.k0[s] + j)] = s;
  }
  int64_t operator()(int64_t i) const {
    const int64_t s = seq_of[static_cast<size_t>(i)];
    return p.kp0[s] + i - p.k0[s];
  }
};

// Per-thread scratch: one allocator block for all threads, carved up by thread number, so the
// tile loops allocate nothing.
struct Scratch {
  Tensor block;
  int64_t per_thread;
  Scratch(int64_t floats_per_thread)
      : block(Tensor::empty({num_threads(), floats_per_thread})), per_thread(floats_per_thread) {}
  float* mine() const { return block.data<float>() + omp_get_thread_num() * per_thread; }
};

// ---------------------------------------------------------------------------------------------
// Forward.

struct ForwardPacked {
  Tensor kt;  // [H][skvp / kBlockK][D][kBlockK]
  Tensor v;   // [H][skvp][Dvp]
};

// The online softmax over one row of a score tile (scores already in base-2 units): updates the
// running max m and sum l, leaves exp2(t - m_new) in the row (0 in the masked tail), and returns
// the factor exp2(m_old - m_new) by which the running output must be rescaled.
float online_softmax_row(float* row, int64_t nkp, int64_t nk, float& m, float& l) {
  const int64_t last = nkp - kVec;  // only the last vector can hold columns past nk
  v16 mx = mask_tail(load(row + last), last, nk);
  for (int64_t j = 0; j < last; j += kVec) mx = vmax(mx, load(row + j));
  const float m_new = std::max(m, hmax(mx));
  const float alpha = std::exp2(m - m_new);
  v16 acc{};
  const v16 mv = splat(m_new);
  for (int64_t j = 0; j < last; j += kVec) {
    const v16 e = exp2v(load(row + j) - mv);
    store(row + j, e);
    acc += e;
  }
  const v16 e = exp2v(mask_tail(load(row + last), last, nk) - mv);
  store(row + last, e);
  l = l * alpha + hsum(acc + e);
  m = m_new;
  return alpha;
}

// One query tile [qr, qr + nq) of sequence s, head h.
void forward_tile(const Problem& p, const ForwardPacked& pk, const float* q, int64_t h, int64_t s,
                  int64_t qr, int64_t nq, float* scratch, float* out, float* lse) {
  float* S = scratch;                // [kBlockQ][kBlockK]
  float* O = S + kBlockQ * kBlockK;  // [kBlockQ][Dvp]
  float* Q = O + kBlockQ * p.Dvp;    // [kBlockQ][D]: the query rows times scale · log2 e
  float* m = Q + kBlockQ * p.D;      // [kBlockQ]
  float* l = m + kBlockQ;            // [kBlockQ]
  float* alpha = l + kBlockQ;        // [kBlockQ]
  const float c = p.scale * kLog2e;
  const int64_t kl = p.kl[s];
  for (int64_t i = 0; i < nq; ++i) {
    const float* row = q + ((qr + i) * p.H + h) * p.D;
    for (int64_t d = 0; d < p.D; ++d) Q[i * p.D + d] = row[d] * c;
  }
  std::fill(m, m + nq, -std::numeric_limits<float>::infinity());
  std::fill(l, l + nq, 0.0f);
  std::fill(O, O + nq * p.Dvp, 0.0f);
  const float* vp = pk.v.data<float>() + (h * p.skvp + p.kp0[s]) * p.Dvp;
  for (int64_t j0 = 0; j0 < kl; j0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, kl - j0), nkp = round_up(nk, kVec);
    const float* kt = key_tile_block(pk.kt, h, p.kp0[s] + j0, p.D, p.skvp);
    tile_gemm(nq, nkp, p.D, Q, p.D, 1, kt, kBlockK, S, kBlockK, Init::kZero);
    for (int64_t i = 0; i < nq; ++i)
      alpha[i] = online_softmax_row(S + i * kBlockK, nkp, nk, m[i], l[i]);
    tile_gemm(nq, p.Dvp, nk, S, kBlockK, 1, vp + j0 * p.Dvp, p.Dvp, O, p.Dvp,
              j0 == 0 ? Init::kZero : Init::kScaleRows, alpha);
  }
  for (int64_t i = 0; i < nq; ++i) {
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    float* o = out + ((qr + i) * p.H + h) * p.Dv;
    for (int64_t e = 0; e < p.Dv; ++e) o[e] = O[i * p.Dvp + e] * inv;
    lse[h * p.Sq + qr + i] =
        l[i] > 0.0f ? (m[i] + std::log2(l[i])) * kLn2 : -std::numeric_limits<float>::infinity();
  }
}

// (head, sequence, query tile) work items, longest sequences first for load balance.
struct TileTask {
  int64_t h, s, r0, n;
};

std::vector<TileTask> tile_tasks(const Problem& p, const std::vector<int64_t>& len,
                                 const std::vector<int64_t>& start, int64_t block) {
  std::vector<TileTask> tasks;
  for (int64_t s = 0; s < num_seqs(p); ++s)
    for (int64_t r = 0; r < len[s]; r += block)
      for (int64_t h = 0; h < p.H; ++h)
        tasks.push_back({h, s, start[s] + r, std::min(block, len[s] - r)});
  std::stable_sort(tasks.begin(), tasks.end(),
                   [&](const TileTask& a, const TileTask& b) { return len[a.s] > len[b.s]; });
  return tasks;
}

}  // namespace

AttentionResult attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const std::vector<int64_t>& seqlens_q,
                                  const std::vector<int64_t>& seqlens_kv, float scale) {
  const Problem p = make_problem("attention_forward", q, k, v, seqlens_q, seqlens_kv, scale);
  ForwardPacked pk{pack_keys_transposed(p, k), pack_rows(v, p.skvp, p.Dvp, KeyRow(p))};
  AttentionResult r{Tensor::empty({p.Sq, p.H, p.Dv}), Tensor::empty({p.H, p.Sq})};
  const Scratch scratch(kBlockQ * (kBlockK + p.Dvp + p.D + 3));
  const std::vector<TileTask> tasks = tile_tasks(p, p.ql, p.q0, kBlockQ);
  const float* qd = q.data<float>();
  float* out = r.out.data<float>();
  float* lse = r.lse.data<float>();
  const int64_t n = static_cast<int64_t>(tasks.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < n; ++t) {
    const TileTask& w = tasks[static_cast<size_t>(t)];
    forward_tile(p, pk, qd, w.h, w.s, w.r0, w.n, scratch.mine(), out, lse);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Backward. With P = softmax(s) per row, O = P V and s = scale · q kᵀ:
//   dV = Pᵀ dO,   dP = dO Vᵀ,   dS = P ∘ (dP - D) with D_i = sum_j P_ij dP_ij = dO_i · O_i,
//   dQ = scale · dS K,   dK = scale · dSᵀ Q.
// P is recomputed per tile from the saved lse: P_ij = exp2(t_ij - lse_i · log2 e).
// dK and dV are accumulated per key tile over the query tiles. dQ is either accumulated in the
// same sweep (when each task owns a whole (head, sequence), nobody else writes its rows) or in a
// second sweep over query tiles; both add the same tile products in the same order (key tiles in
// increasing order for each query row), so the result does not depend on which one runs.

namespace {

struct BackwardPacked {
  Tensor q;     // [H][Sq][Dp]
  Tensor k;     // [H][skvp][Dp]
  Tensor kt;    // [H][skvp / kBlockK][D][kBlockK]
  Tensor vt;    // [H][skvp / kBlockK][Dv][kBlockK]
  Tensor dout;  // [H][Sq][Dvp]
  Tensor lse2;  // [H][Sq]: lse · log2 e
  Tensor dsum;  // [H][Sq]: D_i = dO_i · O_i
  Tensor dq;    // [H][Sq][Dp]: dQ accumulator
};

constexpr int64_t kScratchTiles = 2 * kBlockQ * kBlockK;

// Leaves P in P_buf and scale · dS in dS_buf (both [nq][kBlockK]) for query rows [qr, qr + nq)
// against keys [j0, j0 + nk) of sequence s, head h.
void ds_tile(const Problem& p, const BackwardPacked& pk, int64_t h, int64_t s, int64_t qr,
             int64_t nq, int64_t j0, int64_t nk, float* P_buf, float* dS_buf) {
  const int64_t nkp = round_up(nk, kVec);
  const float c = p.scale * kLog2e;
  const float* qa = pk.q.data<float>() + (h * p.Sq + qr) * p.Dp;
  const float* doa = pk.dout.data<float>() + (h * p.Sq + qr) * p.Dvp;
  const int64_t col = p.kp0[s] + j0;
  tile_gemm(nq, nkp, p.D, qa, p.Dp, 1, key_tile_block(pk.kt, h, col, p.D, p.skvp), kBlockK, P_buf,
            kBlockK, Init::kZero);
  tile_gemm(nq, nkp, p.Dv, doa, p.Dvp, 1, key_tile_block(pk.vt, h, col, p.Dv, p.skvp), kBlockK,
            dS_buf, kBlockK, Init::kZero);
  const float* lse2 = pk.lse2.data<float>() + h * p.Sq + qr;
  const float* dsum = pk.dsum.data<float>() + h * p.Sq + qr;
  const v16 cv = splat(c);
  for (int64_t i = 0; i < nq; ++i) {
    float* pr = P_buf + i * kBlockK;
    float* dr = dS_buf + i * kBlockK;
    const v16 li = splat(lse2[i]), di = splat(dsum[i]);
    for (int64_t j = 0; j < nkp; j += kVec) {
      v16 t = fmadd(load(pr + j), cv, -li);
      if (j + kVec > nk) t = mask_tail(t, j, nk);
      const v16 pv = exp2v(t);
      store(pr + j, pv);
      store(dr + j, pv * (load(dr + j) - di) * p.scale);
    }
  }
}

// dK, dV for keys [j0, j0 + nk) of sequence s, head h, summed over the sequence's query tiles;
// with_dq also adds this key tile's share of dQ.
void key_tile(const Problem& p, const BackwardPacked& pk, int64_t h, int64_t s, int64_t j0,
              int64_t nk, bool with_dq, float* scratch, float* dk, float* dv) {
  float* P = scratch;
  float* dS = P + kBlockQ * kBlockK;
  float* dK = dS + kBlockQ * kBlockK;  // [kBlockK][Dp]
  float* dV = dK + kBlockK * p.Dp;     // [kBlockK][Dvp]
  std::fill(dK, dK + nk * p.Dp, 0.0f);
  std::fill(dV, dV + nk * p.Dvp, 0.0f);
  const float* kp = pk.k.data<float>() + (h * p.skvp + p.kp0[s] + j0) * p.Dp;
  for (int64_t r = 0; r < p.ql[s]; r += kBlockQ) {
    const int64_t qr = p.q0[s] + r, nq = std::min(kBlockQ, p.ql[s] - r);
    ds_tile(p, pk, h, s, qr, nq, j0, nk, P, dS);
    const float* qa = pk.q.data<float>() + (h * p.Sq + qr) * p.Dp;
    const float* doa = pk.dout.data<float>() + (h * p.Sq + qr) * p.Dvp;
    tile_gemm(nk, p.Dvp, nq, P, 1, kBlockK, doa, p.Dvp, dV, p.Dvp, Init::kAccumulate);
    tile_gemm(nk, p.Dp, nq, dS, 1, kBlockK, qa, p.Dp, dK, p.Dp, Init::kAccumulate);
    if (with_dq)
      tile_gemm(nq, p.Dp, nk, dS, kBlockK, 1, kp, p.Dp,
                pk.dq.data<float>() + (h * p.Sq + qr) * p.Dp, p.Dp, Init::kAccumulate);
  }
  for (int64_t j = 0; j < nk; ++j) {
    const int64_t row = (p.k0[s] + j0 + j) * p.H + h;
    std::memcpy(dk + row * p.D, dK + j * p.Dp, sizeof(float) * static_cast<size_t>(p.D));
    std::memcpy(dv + row * p.Dv, dV + j * p.Dvp, sizeof(float) * static_cast<size_t>(p.Dv));
  }
}

// dQ for query rows [qr, qr + nq) of sequence s, head h, summed over the key tiles.
void query_tile(const Problem& p, const BackwardPacked& pk, int64_t h, int64_t s, int64_t qr,
                int64_t nq, float* scratch) {
  float* P = scratch;
  float* dS = P + kBlockQ * kBlockK;
  float* dq = pk.dq.data<float>() + (h * p.Sq + qr) * p.Dp;
  for (int64_t j0 = 0; j0 < p.kl[s]; j0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, p.kl[s] - j0);
    ds_tile(p, pk, h, s, qr, nq, j0, nk, P, dS);
    const float* kp = pk.k.data<float>() + (h * p.skvp + p.kp0[s] + j0) * p.Dp;
    tile_gemm(nq, p.Dp, nk, dS, kBlockK, 1, kp, p.Dp, dq, p.Dp, Init::kAccumulate);
  }
}

BackwardPacked pack_backward(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& out, const Tensor& lse, const Tensor& dout) {
  const auto same = [](int64_t i) { return i; };
  BackwardPacked pk;
  pk.q = pack_rows(q, p.Sq, p.Dp, same);
  pk.k = pack_rows(k, p.skvp, p.Dp, KeyRow(p));
  pk.kt = pack_keys_transposed(p, k);
  pk.vt = pack_keys_transposed(p, v);
  pk.dout = pack_rows(dout, p.Sq, p.Dvp, same);
  pk.lse2 = Tensor::empty({p.H, p.Sq});
  pk.dsum = Tensor::empty({p.H, p.Sq});
  pk.dq = Tensor::zeros({p.H, p.Sq, p.Dp});
  const float* o = out.data<float>();
  const float* g = dout.data<float>();
  const float* l = lse.data<float>();
  float* l2 = pk.lse2.data<float>();
  float* ds = pk.dsum.data<float>();
  parallel_for(p.Sq, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t h = 0; h < p.H; ++h) {
        double acc = 0.0;
        for (int64_t d = 0; d < p.Dv; ++d) {
          const int64_t at = (i * p.H + h) * p.Dv + d;
          acc += static_cast<double>(o[at]) * g[at];
        }
        ds[h * p.Sq + i] = static_cast<float>(acc);
        l2[h * p.Sq + i] = l[h * p.Sq + i] * kLog2e;
      }
  });
  return pk;
}

}  // namespace

AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor& dout,
                                  const std::vector<int64_t>& seqlens_q,
                                  const std::vector<int64_t>& seqlens_kv, float scale) {
  const char* op = "attention_backward";
  const Problem p = make_problem(op, q, k, v, seqlens_q, seqlens_kv, scale);
  check_f32(op, "out", out);
  check_f32(op, "dout", dout);
  check_f32(op, "lse", lse);
  const Dims out_shape{p.Sq, p.H, p.Dv}, lse_shape{p.H, p.Sq};
  CUBIST_CHECK(out.shape() == out_shape && dout.shape() == out_shape, op,
               ": out and dout must have shape ", out_shape, ", got ", out.shape(), " and ",
               dout.shape());
  CUBIST_CHECK(lse.shape() == lse_shape, op, ": lse must have shape ", lse_shape, ", got ",
               lse.shape());
  const BackwardPacked pk = pack_backward(p, q, k, v, out, lse, dout);
  AttentionGrads g{Tensor::empty({p.Sq, p.H, p.D}), Tensor::zeros({p.Skv, p.H, p.D}),
                   Tensor::zeros({p.Skv, p.H, p.Dv})};
  const Scratch scratch(kScratchTiles + kBlockK * (p.Dp + p.Dvp));
  float* dk = g.dk.data<float>();
  float* dv = g.dv.data<float>();
  // One task per (head, sequence) when there are enough of them to keep every thread busy;
  // otherwise key tiles and query tiles are separate tasks.
  const bool whole_sequences = p.H * num_seqs(p) >= 2 * num_threads();
  const std::vector<TileTask> ktasks =
      tile_tasks(p, p.kl, p.k0, whole_sequences ? std::max<int64_t>(p.Skv, 1) : kBlockK);
  const int64_t nk = static_cast<int64_t>(ktasks.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < nk; ++t) {
    const TileTask& w = ktasks[static_cast<size_t>(t)];
    for (int64_t j0 = 0; j0 < w.n; j0 += kBlockK)
      key_tile(p, pk, w.h, w.s, w.r0 - p.k0[w.s] + j0, std::min(kBlockK, w.n - j0), whole_sequences,
               scratch.mine(), dk, dv);
  }
  if (!whole_sequences) {
    const std::vector<TileTask> qtasks = tile_tasks(p, p.ql, p.q0, kBlockQ);
    const int64_t nq = static_cast<int64_t>(qtasks.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < nq; ++t) {
      const TileTask& w = qtasks[static_cast<size_t>(t)];
      query_tile(p, pk, w.h, w.s, w.r0, w.n, scratch.mine());
    }
  }
  const float* dqa = pk.dq.data<float>();
  float* dq = g.dq.data<float>();
  parallel_for(p.Sq, 256, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t h = 0; h < p.H; ++h)
        std::memcpy(dq + (i * p.H + h) * p.D, dqa + (h * p.Sq + i) * p.Dp,
                    sizeof(float) * static_cast<size_t>(p.D));
  });
  return g;
}

// ---------------------------------------------------------------------------------------------
// The materialised reference: per sequence and head, scores = scale · q kᵀ by one GEMM, a row
// softmax, and out = P v by a second GEMM.

AttentionResult attention_forward_naive(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const std::vector<int64_t>& seqlens_q,
                                        const std::vector<int64_t>& seqlens_kv, float scale) {
  const Problem p = make_problem("attention_forward_naive", q, k, v, seqlens_q, seqlens_kv, scale);
  AttentionResult r{Tensor::zeros({p.Sq, p.H, p.Dv}),
                    Tensor::full({p.H, p.Sq}, -std::numeric_limits<float>::infinity())};
  for (int64_t s = 0; s < num_seqs(p); ++s) {
    const int64_t nq = p.ql[s], nk = p.kl[s];
    if (nq == 0 || nk == 0) continue;
    Tensor scores = Tensor::empty({p.H, nq, nk});
    float* sc = scores.data<float>();
    for (int64_t h = 0; h < p.H; ++h)
      gemm(false, true, nq, nk, p.D, p.scale, q.data<float>() + (p.q0[s] * p.H + h) * p.D,
           p.H * p.D, k.data<float>() + (p.k0[s] * p.H + h) * p.D, p.H * p.D, 0.0f,
           sc + h * nq * nk, nk);
    float* lse = r.lse.data<float>();
    parallel_for(p.H * nq, 16, [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        float* x = sc + row * nk;
        const float mx = *std::max_element(x, x + nk);
        float sum = 0.0f;
        for (int64_t j = 0; j < nk; ++j) sum += (x[j] = std::exp(x[j] - mx));
        for (int64_t j = 0; j < nk; ++j) x[j] /= sum;
        const int64_t h = row / nq, i = row % nq;
        lse[h * p.Sq + p.q0[s] + i] = mx + std::log(sum);
      }
    });
    for (int64_t h = 0; h < p.H; ++h)
      gemm(false, false, nq, p.Dv, nk, 1.0f, sc + h * nq * nk, nk,
           v.data<float>() + (p.k0[s] * p.H + h) * p.Dv, p.H * p.Dv, 0.0f,
           r.out.data<float>() + (p.q0[s] * p.H + h) * p.Dv, p.H * p.Dv);
  }
  return r;
}

}  // namespace cubist::ops
