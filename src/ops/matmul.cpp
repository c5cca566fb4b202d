// linear and matmul, forward and backward, as calls to ops::gemm on row-major buffers. Leading
// dimensions of a contiguous tensor fold into the rows of one large GEMM wherever the math allows,
// since one large call runs closer to the machine's peak than many small ones.
#include "ops/matmul.h"

#include "core/parallel.h"
#include "ops/check.h"
#include "ops/elementwise.h"
#include "ops/gemm.h"

namespace cubist::ops {
namespace {

// Product of all dimensions but the last `keep` (the number of rows / matrices).
int64_t leading(const Tensor& t, int keep) {
  int64_t n = 1;
  for (int d = 0; d + keep < t.dim(); ++d) n *= t.shape()[d];
  return n;
}

Dims with_last(Dims shape, int64_t last) {
  shape[shape.size() - 1] = last;
  return shape;
}

// C_i = op(A_i) * op(B_i) for i < batch, matrices `sa`, `sb`, `sc` floats apart (sb = 0: one B
// shared). Small products run one per thread, each on a single core (ops::gemm runs on its
// caller's thread inside a parallel region); large ones one after another on all threads. Each
// product's result is the same either way.
void batched_gemm(bool ta, bool tb, int64_t batch, int64_t M, int64_t N, int64_t K, const float* A,
                  int64_t sa, const float* B, int64_t sb, float* C, int64_t sc) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  auto one = [&](int64_t i) {
    gemm(ta, tb, M, N, K, 1.0f, A + i * sa, lda, B + i * sb, ldb, 0.0f, C + i * sc, N);
  };
  constexpr int64_t kSmall = int64_t{1} << 22;  // multiply-adds; 256x256x64 is 1 << 22
  if (batch > 1 && M * N * K <= kSmall) {
    parallel_for(batch, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) one(i);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

void check_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_f32("linear", "x", x);
  check_f32("linear", "weight", w);
  check_dim("linear", "weight", w, 2);
  CUBIST_CHECK(x.dim() >= 1, "linear: x must have at least one dimension, got shape ", x.shape());
  CUBIST_CHECK(x.size(-1) == w.size(1), "linear: x ", x.shape(), " has ", x.size(-1),
               " features but weight ", w.shape(), " (laid out [out, in]) expects ", w.size(1));
  if (!b.defined()) return;
  check_f32("linear", "bias", b);
  CUBIST_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "linear: bias must have shape [", w.size(0),
               "] to match weight ", w.shape(), ", got ", b.shape());
}

// Returns the batch count, and whether b is one matrix shared by the whole batch.
std::pair<int64_t, bool> check_matmul(const Tensor& a, const Tensor& b) {
  check_f32("matmul", "a", a);
  check_f32("matmul", "b", b);
  CUBIST_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: a and b must be at least 2-d, got ",
               a.shape(), " and ", b.shape());
  CUBIST_CHECK(a.size(-1) == b.size(-2), "matmul: a ", a.shape(), " has ", a.size(-1),
               " columns but b ", b.shape(), " has ", b.size(-2), " rows");
  const bool shared = b.dim() == 2;
  if (!shared) {
    bool same = a.dim() == b.dim();
    for (int d = 0; same && d + 2 < a.dim(); ++d) same = a.shape()[d] == b.shape()[d];
    CUBIST_CHECK(same, "matmul: batch dimensions of a ", a.shape(), " and b ", b.shape(),
                 " differ (b must have a's batch dimensions, or be 2-d and shared)");
  }
  return {leading(a, 2), shared};
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_linear(x, w, b);
  const int64_t rows = leading(x, 1), N = w.size(0), K = w.size(1);
  Tensor y = Tensor::empty(with_last(x.shape(), N));
  float* py = y.data<float>();
  if (b.defined()) {  // y starts as the bias, and the product is added to it (beta = 1)
    const float* pb = b.data<float>();
    parallel_for(rows, 256, [&](int64_t s, int64_t e) {
      for (int64_t r = s; r < e; ++r)
        for (int64_t j = 0; j < N; ++j) py[r * N + j] = pb[j];
    });
  }
  gemm(false, true, rows, N, K, 1.0f, x.data<float>(), K, w.data<float>(), K,
       b.defined() ? 1.0f : 0.0f, py, N);
  return y;
}

// With x as X[R, K] (leading dimensions folded into rows) and dy as dY[R, N]:
//   dX = dY * W        [R, N] x [N, K]
//   dW = dY^T * X      [N, R] x [R, K]   (sums over every row of every batch)
//   db = sum over rows of dY
LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool need_dx,
                            bool need_dw, bool need_db) {
  check_linear(x, w, Tensor());
  check_f32("linear_backward", "dy", dy);
  const int64_t rows = leading(x, 1), N = w.size(0), K = w.size(1);
  CUBIST_CHECK(dy.shape() == with_last(x.shape(), N), "linear_backward: dy ", dy.shape(),
               " must have the output's shape ", with_last(x.shape(), N));
  LinearGrads g;
  if (need_dx) {
    g.dx = Tensor::empty(x.shape());
    gemm(false, false, rows, K, N, 1.0f, dy.data<float>(), N, w.data<float>(), K, 0.0f,
         g.dx.data<float>(), K);
  }
  if (need_dw) {
    g.dw = Tensor::empty(w.shape());
    gemm(true, false, N, K, rows, 1.0f, dy.data<float>(), N, x.data<float>(), K, 0.0f,
         g.dw.data<float>(), K);
  }
  if (need_db) g.db = sum_rows(dy.reshape({rows, N}));
  return g;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const auto [batch, shared] = check_matmul(a, b);
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Tensor y = Tensor::empty(with_last(a.shape(), N));
  if (shared) {  // one product: a's batch folds into its rows
    gemm(false, false, batch * M, N, K, 1.0f, a.data<float>(), K, b.data<float>(), N, 0.0f,
         y.data<float>(), N);
  } else {
    batched_gemm(false, false, batch, M, N, K, a.data<float>(), M * K, b.data<float>(), K * N,
                 y.data<float>(), M * N);
  }
  return y;
}

// Per matrix of the batch:  dA = dY * B^T  [M, N] x [N, K];   dB = A^T * dY  [K, M] x [M, N].
// A shared B gets the sum of dB over the batch, which is one product with the batch folded into
// the rows of A and dY.
MatmulGrads matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b, bool need_da,
                            bool need_db) {
  const auto [batch, shared] = check_matmul(a, b);
  check_f32("matmul_backward", "dy", dy);
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  CUBIST_CHECK(dy.shape() == with_last(a.shape(), N), "matmul_backward: dy ", dy.shape(),
               " must have the output's shape ", with_last(a.shape(), N));
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pdy = dy.data<float>();
  MatmulGrads g;
  if (need_da) {
    g.da = Tensor::empty(a.shape());
    if (shared) {
      gemm(false, true, batch * M, K, N, 1.0f, pdy, N, pb, N, 0.0f, g.da.data<float>(), K);
    } else {
      batched_gemm(false, true, batch, M, K, N, pdy, M * N, pb, K * N, g.da.data<float>(), M * K);
    }
  }
  if (need_db) {
    g.db = Tensor::empty(b.shape());
    if (shared) {
      gemm(true, false, K, N, batch * M, 1.0f, pa, K, pdy, N, 0.0f, g.db.data<float>(), N);
    } else {
      batched_gemm(true, false, batch, K, N, M, pa, M * K, pdy, M * N, g.db.data<float>(), K * N);
    }
  }
  return g;
}

}  // namespace cubist::ops
