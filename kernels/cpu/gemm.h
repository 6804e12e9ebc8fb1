// General matrix multiply on the CPU, row-major:
//   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C
// op(X) is X or Xᵀ. lda/ldb/ldc are row strides in elements of the matrices
// as stored (A is m×k, or k×m when trans_a).
#pragma once

namespace gc::cpu {

// Our optimised SGEMM: packed panels, register-blocked FMA micro-kernel,
// cache blocking, OpenMP threads. Deterministic for a fixed thread count.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
           const float* a, int lda, const float* b, int ldb, float beta,
           float* c, int ldc);

// Double precision GEMM (simple loop order, no SIMD tuning): used only by
// the double-precision gradient checks.
void dgemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha,
           const double* a, int lda, const double* b, int ldb, double beta,
           double* c, int ldc);

// Overloads so templated kernels can call gemm<T>.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace gc::cpu
