// BLIS, called through its native typed API. Kept in its own translation unit because blis.h
// declares its own cblas_* prototypes, which clash with OpenBLAS's cblas.h.
#include <blis.h>

#include <cstdint>

namespace bench {

// Row-major C[M, N] = alpha * op(A) * op(B) + beta * C. BLIS takes a row and a column stride per
// matrix, so a row-major matrix is (rs = ld, cs = 1) and a transpose is a flag, not a copy.
// `threads` = 1 pins this call to the calling thread (as inside an OpenMP parallel region).
void blis_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                int threads) {
  rntm_t rntm;
  bli_rntm_init(&rntm);
  bli_rntm_set_num_threads(threads, &rntm);
  bli_sgemm_ex(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, M,
               N, K, &alpha, const_cast<float*>(A), lda, 1, const_cast<float*>(B), ldb, 1, &beta, C,
               ldc, 1, nullptr, &rntm);
}

const char* blis_arch() { return bli_arch_string(bli_arch_query_id()); }

}  // namespace bench
