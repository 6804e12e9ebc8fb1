// Double precision GEMM for the gradient checks: plain loops in i-k-j order,
// so the innermost loop runs along contiguous rows of B and C when B is not
// transposed (and the compiler can vectorize it).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cpu/gemm.h"

namespace gc::cpu {

void dgemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
           int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  const int a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
  if (m < 0 || n < 0 || k < 0 || lda < std::max(1, a_cols) || ldb < std::max(1, b_cols) ||
      ldc < std::max(1, n)) {
    throw std::invalid_argument("dgemm: bad sizes m=" + std::to_string(m) + " n=" +
                                std::to_string(n) + " k=" + std::to_string(k) + " lda=" +
                                std::to_string(lda) + " ldb=" + std::to_string(ldb) +
                                " ldc=" + std::to_string(ldc));
  }
  for (int i = 0; i < m; ++i) {
    double* c_row = c + std::ptrdiff_t(i) * ldc;
    for (int j = 0; j < n; ++j) c_row[j] = beta == 0.0 ? 0.0 : beta * c_row[j];
    for (int p = 0; p < k; ++p) {
      const double a_ip = alpha * (trans_a ? a[std::ptrdiff_t(p) * lda + i]
                                           : a[std::ptrdiff_t(i) * lda + p]);
      if (trans_b) {
        for (int j = 0; j < n; ++j) c_row[j] += a_ip * b[std::ptrdiff_t(j) * ldb + p];
      } else {
        const double* b_row = b + std::ptrdiff_t(p) * ldb;
        for (int j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
      }
    }
  }
}

}  // namespace gc::cpu
