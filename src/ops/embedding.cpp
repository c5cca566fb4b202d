#include "ops/embedding.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "ops/check.h"
#include "ops/rowwise.h"

namespace cubist::ops {

namespace {
void check_indices(const char* op, std::span<const int32_t> indices, int64_t vocab) {
  for (size_t i = 0; i < indices.size(); ++i)
    CUBIST_CHECK(indices[i] >= 0 && indices[i] < vocab, op, ": index ", indices[i], " at position ",
                 i, " is out of range for a table of V = ", vocab, " rows (accepted: 0 to ",
                 vocab - 1, ")");
}
}  // namespace

Tensor embedding(const Tensor& table, std::span<const int32_t> indices) {
  check_f32("embedding", "table", table);
  check_dim("embedding", "table", table, 2);
  const int64_t vocab = table.size(0), d = table.size(1);
  check_indices("embedding", indices, vocab);
  const int64_t n = static_cast<int64_t>(indices.size());
  Tensor out = Tensor::empty({n, d});
  const float* pt = table.data<float>();
  float* po = out.data<float>();
  parallel_for(n, detail::row_grain(d), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      std::memcpy(po + i * d, pt + indices[static_cast<size_t>(i)] * d,
                  static_cast<size_t>(d) * sizeof(float));
  });
  return out;
}

Tensor embedding_backward(const Tensor& dout, std::span<const int32_t> indices, int64_t vocab) {
  const char* op = "embedding_backward";
  check_f32(op, "dout", dout);
  check_dim(op, "dout", dout, 2);
  const int64_t n = static_cast<int64_t>(indices.size()), d = dout.size(1);
  CUBIST_CHECK(dout.size(0) == n, op, ": dout ", dout.shape(), " must have one row per index (", n,
               ")");
  CUBIST_CHECK(vocab >= 0, op, ": vocab must be >= 0, got ", vocab);
  check_indices(op, indices, vocab);
  // Counting sort of the positions by index (stable), so each table row gathers its own
  // positions in increasing order: parallel over table rows, no atomics, a fixed order of sums.
  std::vector<int64_t> start(static_cast<size_t>(vocab) + 1, 0), order(static_cast<size_t>(n));
  for (int32_t v : indices) ++start[static_cast<size_t>(v) + 1];
  for (int64_t v = 0; v < vocab; ++v) start[v + 1] += start[v];
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[next[indices[static_cast<size_t>(i)]]++] = i;
  }
  Tensor dt = Tensor::empty({vocab, d});
  const float* pg = dout.data<float>();
  float* pt = dt.data<float>();
  parallel_for(vocab, detail::row_grain(d), [&](int64_t v0, int64_t v1) {
    for (int64_t v = v0; v < v1; ++v) {
      float* row = pt + v * d;
      std::fill(row, row + d, 0.0f);
      for (int64_t k = start[v]; k < start[v + 1]; ++k) {
        const float* g = pg + order[k] * d;
        for (int64_t j = 0; j < d; ++j) row[j] += g[j];
      }
    }
  });
  return dt;
}

}  // namespace cubist::ops
