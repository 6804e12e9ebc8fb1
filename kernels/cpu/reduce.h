// Reductions over contiguous arrays.
#pragma once

#include <cstdint>

namespace gc::cpu {

// Σ x[i]. Blocked and pairwise: 1024-element blocks are summed in 16 lanes,
// then blocks and lanes are combined as a balanced tree, so the rounding error
// grows like O(log n) rather than O(n). The tree depends only on n: the
// result is bitwise the same for any thread count.
template <typename T> T sum(int64_t n, const T* x);

// The same arithmetic (bitwise equal to sum) on the calling thread only, for
// use inside loops that are already parallel.
template <typename T> T sum_serial(int64_t n, const T* x);

}  // namespace gc::cpu
