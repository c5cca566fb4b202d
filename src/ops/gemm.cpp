// ops::gemm through the backend picked by the CMake option CUBIST_GEMM (openblas, blis or
// onednn). docs/PERFORMANCE.md records the measurements behind the default. All three are called
// row-major with a transpose flag per operand, so no operand is ever copied. Each library runs on
// OpenMP's thread pool; called from inside a parallel region, each call runs on its caller's
// thread alone.
#include "ops/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"

#if defined(CUBIST_GEMM_openblas)
#include <cblas.h>
#elif defined(CUBIST_GEMM_blis)
#include <blis.h>
#elif defined(CUBIST_GEMM_onednn)
#include <oneapi/dnnl/dnnl.h>
#else
#error "define one of CUBIST_GEMM_openblas, CUBIST_GEMM_blis, CUBIST_GEMM_onednn"
#endif

namespace cubist::ops {
namespace {

// C = beta * C over an M x N block with row stride ldc; beta == 0 overwrites (NaNs included),
// as BLAS does.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

void check_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                int64_t ldb, int64_t ldc) {
  CUBIST_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: sizes must be >= 0, got M=", M, " N=", N,
               " K=", K);
  // Stored row-major: A is M x K (K x M when transposed), B is K x N (N x K), C is M x N.
  const int64_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
  CUBIST_CHECK(lda >= a_cols && ldb >= b_cols && ldc >= N, "gemm: leading dimensions lda=", lda,
               " ldb=", ldb, " ldc=", ldc, " are shorter than the rows they stride (", a_cols, ", ",
               b_cols, ", ", N, ")");
  CUBIST_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
                   ldc <= INT_MAX,
               "gemm: sizes and leading dimensions must fit in 32 bits");
}

// One library call, threaded by the library (one thread inside a parallel region).
void library_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
#if defined(CUBIST_GEMM_openblas)
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
#elif defined(CUBIST_GEMM_blis)
  // BLIS keeps its own thread count; take OpenMP's, and one thread inside a parallel region.
  rntm_t rntm;
  bli_rntm_init(&rntm);
  bli_rntm_set_num_threads(omp_in_parallel() ? 1 : omp_get_max_threads(), &rntm);
  // A row-major matrix is row stride ld, column stride 1; BLIS applies the transpose itself.
  bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
               trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, M, N, K, &alpha, const_cast<float*>(A),
               lda, 1, const_cast<float*>(B), ldb, 1, &beta, C, ldc, 1, nullptr, &rntm);
#elif defined(CUBIST_GEMM_onednn)
  const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A,
                                      lda, B, ldb, beta, C, ldc);
  CUBIST_CHECK(st == dnnl_success, "gemm: dnnl_sgemm failed with status ", static_cast<int>(st));
#endif
}

// The deterministic blocks of C: 256 x 256, a size at which packing the operands again for every
// block costs about 1/256 of the arithmetic, and of which a large product has enough for many
// threads.
constexpr int64_t kBlock = 256;

bool env_deterministic() {
  const char* v = std::getenv("CUBIST_DETERMINISTIC");
  return v && std::strcmp(v, "0") != 0 && *v != '\0';
}

std::atomic<bool>& deterministic_flag() {
  static std::atomic<bool> on{env_deterministic()};
  return on;
}

// A long K is cut into chunks of at least this many, and at most kMaxChunks of them, so that a
// product with few blocks of C (a weight gradient: small C, K the positions) still gives every
// thread work; the cut depends on K alone.
constexpr int64_t kChunkK = 4096, kMaxChunks = 16;

int64_t k_chunk(int64_t K) { return std::max(kChunkK, (K + kMaxChunks - 1) / kMaxChunks); }

// C in blocks fixed by the shape, each a single-threaded call reducing over all of K, or over one
// chunk of a long K, the chunks' products then added in chunk order: an element of C is summed
// the same way whichever thread computes its pieces, and however many there are.
void blocked_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
  const int64_t rows = (M + kBlock - 1) / kBlock, cols = (N + kBlock - 1) / kBlock;
  const int64_t kc = K > 2 * kChunkK ? k_chunk(K) : K, chunks = (K + kc - 1) / kc;
  // Row i of op(A) starts at A + i*lda, or at column i when A is stored transposed, and its
  // entry k k further; likewise column j and entry k of op(B).
  const auto a_at = [&](int64_t i, int64_t k) {
    return trans_a ? A + k * lda + i : A + i * lda + k;
  };
  const auto b_at = [&](int64_t k, int64_t j) {
    return trans_b ? B + j * ldb + k : B + k * ldb + j;
  };
  if (chunks == 1) {
#pragma omp parallel for schedule(dynamic)
    for (int64_t b = 0; b < rows * cols; ++b) {
      const int64_t i = b / cols * kBlock, j = b % cols * kBlock;
      const int64_t m = std::min(kBlock, M - i), n = std::min(kBlock, N - j);
      library_gemm(trans_a, trans_b, m, n, K, alpha, a_at(i, 0), lda, b_at(0, j), ldb, beta,
                   C + i * ldc + j, ldc);
    }
    return;
  }
  // Each chunk's product into its own M x N, then summed into C in chunk order.
  std::vector<float> part(static_cast<size_t>(chunks * M * N));
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < chunks * rows * cols; ++t) {
    const int64_t c = t / (rows * cols), b = t % (rows * cols);
    const int64_t i = b / cols * kBlock, j = b % cols * kBlock, k = c * kc;
    const int64_t m = std::min(kBlock, M - i), n = std::min(kBlock, N - j);
    library_gemm(trans_a, trans_b, m, n, std::min(kc, K - k), alpha, a_at(i, k), lda, b_at(k, j),
                 ldb, 0.0f, part.data() + c * M * N + i * N + j, N);
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float sum = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      for (int64_t c = 0; c < chunks; ++c) sum += part[static_cast<size_t>(c * M * N + i * N + j)];
      C[i * ldc + j] = sum;
    }
}

}  // namespace

bool gemm_deterministic() { return deterministic_flag().load(); }
void set_gemm_deterministic(bool on) { deterministic_flag().store(on); }

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {  // no product to add; the libraries differ on these edge cases
    scale_c(M, N, beta, C, ldc);
    return;
  }
  // From here M, N, K >= 1, so the checks above give every ld >= 1, as BLAS demands.
  if (gemm_deterministic())
    blocked_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    library_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char* gemm_backend() {
#if defined(CUBIST_GEMM_openblas)
  return "openblas";
#elif defined(CUBIST_GEMM_blis)
  return "blis";
#else
  return "onednn";
#endif
}

}  // namespace cubist::ops
