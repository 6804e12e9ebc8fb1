// cuBLAS SGEMM for our row-major C = alpha·op(A)·op(B) + beta·C. A row-major
// matrix is its column-major transpose, so cuBLAS computes
// Cᵀ = op(B)ᵀ·op(A)ᵀ: B first, m and n swapped, the transposes unchanged.
#include <stdexcept>
#include <string>

#include "kernels/cuda/vendor/handles.h"
#include "kernels/cuda/vendor/vendor.h"

namespace gc::cuda::vendor {

void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc) {
  // The same rules as our SGEMM (kernels/cuda/sgemm_common.h), so a bad call
  // fails the same way on either table.
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("sgemm (cuBLAS): negative size m=" + std::to_string(m) + " n=" + std::to_string(n) +
                                " k=" + std::to_string(k));
  const int a_cols = ta ? m : k, b_cols = tb ? k : n;
  if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) || ldc < (n > 1 ? n : 1))
    throw std::invalid_argument("sgemm (cuBLAS): leading dimension too small: lda=" + std::to_string(lda) +
                                " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc));
  if (m == 0 || n == 0) return;
  // k == 0 or alpha == 0 gives C = beta·C, and beta == 0 never reads C (BLAS rules).
  GC_VENDOR_CHECK(cublasSgemm(blas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                              &alpha, b, ldb, a, lda, &beta, c, ldc));
}

}  // namespace gc::cuda::vendor
