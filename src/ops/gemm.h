// General matrix multiply on row-major f32 matrices, through the BLAS chosen at build time
// (docs/PERFORMANCE.md records the measurements behind the choice).
//   C[M, N] = alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T
// lda, ldb, ldc are the row strides of A, B, C as stored.
#pragma once

#include <cstdint>

namespace cubist::ops {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Results the same for any thread count: with the environment's CUBIST_DETERMINISTIC=1 (read
// once), gemm cuts C into blocks fixed by the shape alone, each one single-threaded library
// call over the whole of K (a K above 8192: over each of its chunks fixed by K, the chunks'
// products then added in order), and shares them among the threads. By default the library
// threads each call itself, faster on some shapes, but its results then change in the last bits
// with the thread count on others (oneDNN splits K when C is small: M = 1-64 with K >= 256),
// so a seed gives the same video only at the same thread count. docs/PERFORMANCE.md, "GEMM".
bool gemm_deterministic();
void set_gemm_deterministic(bool on);  // for tests: overrides the environment

const char* gemm_backend();  // "openblas", "blis" or "onednn"

}  // namespace cubist::ops
