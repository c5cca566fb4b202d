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

// C in blocks fixed by the shape, each a single-threaded call reducing over all of K: an element
// of C is summed the same way whichever thread computes its block, and however many there are.
void blocked_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
  const int64_t rows = (M + kBlock - 1) / kBlock, cols = (N + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic)
  for (int64_t b = 0; b < rows * cols; ++b) {
    const int64_t i = b / cols * kBlock, j = b % cols * kBlock;
    const int64_t m = std::min(kBlock, M - i), n = std::min(kBlock, N - j);
    // Row i of op(A) starts at A + i*lda, or at column i when A is stored transposed; likewise
    // column j of op(B).
    const float* a = trans_a ? A + i : A + i * lda;
    const float* b_ = trans_b ? B + j * ldb : B + j;
    library_gemm(trans_a, trans_b, m, n, K, alpha, a, lda, b_, ldb, beta, C + i * ldc + j, ldc);
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
