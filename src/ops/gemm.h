// General matrix multiply on row-major f32 matrices, through the BLAS chosen at build time
// (docs/PERFORMANCE.md records the measurements behind the choice).
//   C[M, N] = alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T
// lda, ldb, ldc are the row strides of A, B, C as stored.
#pragma once

#include <cstdint>

namespace cubist::ops {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

const char* gemm_backend();  // "openblas", "blis" or "onednn"

}  // namespace cubist::ops
