// Building blocks shared by the row-wise kernels (norms, modulation, activations, softmax, loss):
// row sums that vectorise yet add in a fixed order, an exp that vectorises, and a deterministic
// reduction over rows for the gradients of parameters shared by many rows.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

#include "core/tensor.h"

#include "core/parallel.h"

namespace cubist::ops::detail {

// Row sums keep kLanes partial sums (two AVX-512 registers) so the compiler can vectorise them
// without -ffast-math; the lanes are then added in index order. The order of additions depends only
// on the row length, never on the thread count.
constexpr int64_t kLanes = 32;

inline float lane_total(const float* acc) {
  float s = 0.0f;
  for (int64_t k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// sum_j f(j) for j in [0, n), where f is a cheap function of the index.
template <typename F>
inline float row_reduce(int64_t n, F f) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) acc[k] += f(j + k);
  for (int64_t k = 0; j + k < n; ++k) acc[k] += f(j + k);
  return lane_total(acc);
}

// Two sums in one pass over the row: {sum_j f(j).first, sum_j f(j).second}, each in the order
// row_reduce uses.
template <typename F>
inline std::pair<float, float> row_reduce2(int64_t n, F f) {
  float a[kLanes] = {}, b[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) {
      const auto [u, v] = f(j + k);
      a[k] += u;
      b[k] += v;
    }
  for (int64_t k = 0; j + k < n; ++k) {
    const auto [u, v] = f(j + k);
    a[k] += u;
    b[k] += v;
  }
  return {lane_total(a), lane_total(b)};
}

inline float row_sum(const float* x, int64_t n) {
  return row_reduce(n, [x](int64_t j) { return x[j]; });
}
inline float row_dot(const float* a, const float* b, int64_t n) {
  return row_reduce(n, [a, b](int64_t j) { return a[j] * b[j]; });
}
inline float row_max(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);  // max is exact: any order gives one value
  return m;
}

// e^x in f32 to within about 2 ulp, written so that loops calling it vectorise (std::exp does not
// without -ffast-math). x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so r is exact enough),
// e^r by its Taylor series to degree 7 (truncation error < 1e-8 relative), 2^n built in the
// exponent bits. Below -87.5 the result is 0 (so exp(-inf) = 0, as softmax over masked entries
// needs); above 88 it is e^88 (finite, so sigmoid never meets inf/inf); NaN stays NaN.
inline float exp_approx(float x) {
  const float xc = std::min(std::max(x, -87.5f), 88.0f);
  // Rounds to the nearest integer by adding and removing 1.5 * 2^23 (exact for |v| < 2^22).
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  const float y = p * std::bit_cast<float>(bits);
  return x != x ? x : (x < -87.5f ? 0.0f : y);
}

// 1 / (1 + e^-x), finite for every finite x.
inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// Rows per task for the row loops: enough work (about 16K elements) to amortise a task, and a
// value that depends only on the row length, so chunk boundaries never depend on the thread count.
inline int64_t row_grain(int64_t d) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1));
}

// Rows per task for the reductions below: larger than row_grain, since every task costs a
// partial-sum buffer of the row's width.
inline int64_t reduce_grain(int64_t d) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(d, 1));
}

// Gradients of parameters shared across rows (a norm's weight, a modulation's shift per sample,
// a bias) are sums over rows. To stay deterministic without atomics, rows are cut into chunks of
// a fixed size; each chunk writes its partial sums to its own buffer, and the partials are then
// added in chunk order.
//
// The rows are `groups` groups of `rows` rows each (group g, row r is row g*rows + r of the data);
// every group has its own `width` sums, for each of `k` outputs (k <= 4). body(g, r0, r1, partials)
// handles rows [r0, r1) of group g, adding into partials[i][0..width) for i < k (zeroed
// beforehand). outs[i] receives [groups, width] totals (outs[i] may be null when output i is not
// wanted). With k = 0 this is a plain parallel loop over the chunks.
template <typename F>
void reduce_rows(int64_t groups, int64_t rows, int64_t width, int k, float* const* outs, F&& body) {
  const int64_t grain = reduce_grain(width);
  const int64_t per_group = std::max<int64_t>(1, (rows + grain - 1) / grain);
  const int64_t tasks = groups * per_group;
  // partial i of task t starts at buffer[(t * k + i) * width]. From the caching allocator, so a
  // training step that repeats the shapes of the step before reuses the same memory.
  Tensor buffer = Tensor::empty({std::max<int64_t>(1, tasks * k * width)});
  float* buf = buffer.data<float>();
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    float* parts[4];
    for (int64_t t = t0; t < t1; ++t) {
      for (int i = 0; i < k; ++i) {
        parts[i] = buf + (t * k + i) * width;
        std::fill(parts[i], parts[i] + width, 0.0f);
      }
      const int64_t g = t / per_group, r0 = (t % per_group) * grain;
      body(g, r0, std::min(rows, r0 + grain), parts);
    }
  });
  // Totals: columns in parallel, chunks added in order.
  parallel_for(groups * k, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t g = c / k;
      const int i = static_cast<int>(c % k);
      float* out = outs[i];
      if (!out) continue;
      out += g * width;
      std::fill(out, out + width, 0.0f);
      for (int64_t t = g * per_group; t < (g + 1) * per_group; ++t) {
        const float* p = buf + (t * k + i) * width;
        for (int64_t j = 0; j < width; ++j) out[j] += p[j];
      }
    }
  });
}

}  // namespace cubist::ops::detail
