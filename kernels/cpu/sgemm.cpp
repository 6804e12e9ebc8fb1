// SGEMM driver: the blocked algorithm of Goto & van de Geijn ("Anatomy of
// high-performance matrix multiplication", 2008), as in BLIS:
//
//   for jc in n step NC:                 B block kc×nc packed once, lives in L3
//     for pc in k step KC:
//       pack B[pc.., jc..] into NR-wide panels      (all threads share the work)
//       for ic in m step MC:             A block mc×kc packed, lives in L2
//         pack A[ic.., pc..] into MR-tall panels
//         for ir, jr over tiles:         A panel stays in L1 across jr
//           C tile += A panel · B panel  (micro-kernel, registers)
//
// (ir outside jr measured faster than the classic jr outside ir here: up to
// 1.8× on conv-shaped GEMMs with tiny k, where each row of C tiles is then
// written as one contiguous stream; no loss on square sizes.)
//
// Threads form a tm × tn grid over C (rows in MR panels, columns in NR
// panels), chosen so each thread's part of C is about square. Each thread
// packs its own rows of A into its own buffer; the B block is shared and
// double-buffered, so one barrier per (jc, pc) step is all the synchronisation.
// Partitions are static and every element of C is summed in the same order
// whatever thread computes it: results are bitwise reproducible for any
// thread count (they do depend on the SIMD level).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/sgemm_kernel.h"

namespace gc::cpu {
namespace {

using sgemm_detail::MicroKernel;
using sgemm_detail::StridedMatrix;

constexpr int kMaxTile = 16 * 32;  // ≥ mr·nr of every micro-kernel

// Problems smaller than this many flops per thread are not worth waking a
// thread for (an OpenMP fork/join costs a few microseconds). The seed CNN's
// first linear layer at batch 64 (64×64×576, 4.7 Mflop) took 148 µs on one
// thread and 87 µs on two (Zen 1), which a bound of 4 Mflop had denied it.
constexpr double kMinFlopsPerThread = 1.0e6;

// A 64-byte aligned float buffer that only grows; one per thread, reused by
// every call so packing never mallocs in steady state.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { std::free(data_); }

  float* reserve(std::size_t floats) {
    if (floats > capacity_) {
      std::size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      float* grown = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!grown) throw std::bad_alloc();
      std::free(data_);
      data_ = grown;
      capacity_ = bytes / sizeof(float);
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  std::size_t capacity_ = 0;
};

struct Workspace {
  ScratchBuffer a_block;
  ScratchBuffer b_block[2];
};

Workspace& thread_workspace() {
  thread_local Workspace workspace;
  return workspace;
}

const MicroKernel& kernel_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return sgemm_detail::micro_kernel_avx512();
    case SimdLevel::avx2: return sgemm_detail::micro_kernel_avx2();
    case SimdLevel::scalar: break;
  }
  return sgemm_detail::micro_kernel_scalar();
}

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// [begin, end) of `total` items for thread `tid` of `threads`.
struct Range {
  int begin, end;
};
Range share(int total, int tid, int threads) {
  return {static_cast<int>(std::int64_t{total} * tid / threads),
          static_cast<int>(std::int64_t{total} * (tid + 1) / threads)};
}

struct Problem {
  int m, n, k;
  float alpha, beta;
  StridedMatrix a, b;  // op(A) is m×k, op(B) is k×n
  float* c;
  std::ptrdiff_t ldc;
};

// A barrier for one sgemm call's team. Waiters spin briefly and then yield
// the core: on a machine busier than our thread count (two cores shared with
// compilers, say) a spinning waiter may be holding the very core the thread
// it waits for needs, and would burn a whole scheduler time slice.
class TeamBarrier {
 public:
  // Every member of the team calls wait with the team's size.
  void wait(int threads) {
    if (threads == 1) return;
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads - 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
      if (spins >= kSpinsBeforeYield) std::this_thread::yield();
    }
  }

 private:
  static constexpr int kSpinsBeforeYield = 2000;
  std::atomic<int> arrived_{0};
  std::atomic<int> generation_{0};
};

// How `threads` threads split C: tm row groups × tn column groups.
struct ThreadGrid {
  int tm, tn;
};

// Picks the factorisation tm·tn = threads whose per-thread block of C is
// closest to square (fewest packed bytes per flop), never more groups than
// panels. Ties go to more row groups: they pack no A twice.
ThreadGrid choose_grid(int threads, int m_panels, int n_panels, int m, int n) {
  ThreadGrid best{1, threads};
  double best_skew = 1e300;
  for (int tm = threads; tm >= 1; --tm) {
    if (threads % tm != 0) continue;
    const int tn = threads / tm;
    if (tm > m_panels || tn > n_panels) continue;
    const double aspect = (double(m) / tm) / (double(n) / tn);
    const double skew = aspect >= 1 ? aspect : 1 / aspect;
    if (skew < best_skew) {
      best_skew = skew;
      best = {tm, tn};
    }
  }
  return best;
}

// C tile (i0, j0) = alpha · A panel · B panel + beta · C tile, for a tile that
// may stick out of C (rows ≤ mr, cols ≤ nr).
void compute_tile(const MicroKernel& uk, const Problem& pr, int kc, const float* a_panel,
                  const float* b_panel, int i0, int j0, float beta) {
  const int rows = std::min(uk.mr, pr.m - i0), cols = std::min(uk.nr, pr.n - j0);
  float* c_tile = pr.c + i0 * pr.ldc + j0;
  if (rows == uk.mr && cols == uk.nr) {
    uk.compute(kc, a_panel, b_panel, c_tile, pr.ldc, pr.alpha, beta);
    return;
  }
  // Edge tile: full tile into scratch, then the valid part into C.
  alignas(64) float edge_tile[kMaxTile];
  uk.compute(kc, a_panel, b_panel, edge_tile, uk.nr, pr.alpha, 0.0f);
  for (int i = 0; i < rows; ++i) {
    float* c_row = c_tile + i * pr.ldc;
    const float* t_row = edge_tile + i * uk.nr;
    for (int j = 0; j < cols; ++j) c_row[j] = beta == 0.0f ? t_row[j] : t_row[j] + beta * c_row[j];
  }
}

struct Blocking {
  int mc, kc, nc;
};

// The kernel's cache blocks, except when all of m fits one A block: then a
// packed B panel serves only m/mr tiles, and B packing (a stream from memory)
// dominates unless the packed block is read back from L2 rather than L3, so
// nc shrinks until each thread's share of the kc×nc block fills half its L2
// (the threads then split columns: each computes the panels it packed).
Blocking choose_blocking(const MicroKernel& uk, int m, int k, int threads) {
  Blocking blk{uk.mc, uk.kc, uk.nc};
  if (m <= uk.mc) {
    static const long l2_bytes = [] {
      long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
      return bytes > 0 ? bytes : 256L * 1024;
    }();
    const long kc = std::min(uk.kc, k);
    const long nc_in_l2 = l2_bytes / 2 / (kc * long(sizeof(float))) * threads / uk.nr * uk.nr;
    blk.nc = static_cast<int>(std::clamp<long>(nc_in_l2, uk.nr, uk.nc));
  }
  return blk;
}

// Thread `tid`'s part of the blocked algorithm, run by each of `threads`
// threads of one OpenMP team (or by a lone thread with threads == 1).
// b_blocks: the two shared B buffers, each ≥ kc·nc floats.
void blocked_gemm(const Problem& pr, const MicroKernel& uk, Blocking blk, ThreadGrid grid,
                  float* const b_blocks[2], TeamBarrier& barrier, int tid, int threads) {
  const int mr = uk.mr, nr = uk.nr;
  // My rows of C, in whole MR panels.
  const Range my_row_panels = share(ceil_div(pr.m, mr), tid / grid.tn, grid.tm);
  const int row_begin = my_row_panels.begin * mr;
  const int row_end = std::min(pr.m, my_row_panels.end * mr);
  const int mc_max = std::min(blk.mc, ceil_div(row_end - row_begin, mr) * mr);
  float* a_block = thread_workspace().a_block.reserve(std::size_t(mc_max) * std::min(blk.kc, pr.k));

  int step = 0;
  for (int jc = 0; jc < pr.n; jc += blk.nc) {
    const int nc = std::min(blk.nc, pr.n - jc);
    const int n_panels = ceil_div(nc, nr);
    const Range my_col_panels = share(n_panels, tid % grid.tn, grid.tn);
    for (int pc = 0; pc < pr.k; pc += blk.kc, ++step) {
      const int kc = std::min(blk.kc, pr.k - pc);
      // C = alpha·Σ_pc A_pc·B_pc + beta·C: beta applies on the first k block only.
      const float beta = pc == 0 ? pr.beta : 1.0f;

      // Double buffering: a thread that packs this step's buffer has passed
      // the previous step's barrier, so every thread has finished with the
      // step before, the last one to read this buffer.
      float* b_block = b_blocks[step % 2];
      const Range my_b = share(n_panels, tid, threads);
      if (my_b.begin < my_b.end) {
        const int j0 = jc + my_b.begin * nr;
        StridedMatrix src{pr.b.data + pc * pr.b.row_stride + j0 * pr.b.col_stride,
                          pr.b.row_stride, pr.b.col_stride};
        uk.pack_b(kc, std::min(pr.n, jc + my_b.end * nr) - j0, src,
                  b_block + std::size_t(my_b.begin) * nr * kc);
      }
      barrier.wait(threads);

      for (int ic = row_begin; ic < row_end; ic += blk.mc) {
        const int mc = std::min(blk.mc, row_end - ic);
        const int m_panels = ceil_div(mc, mr);
        for (int ip = 0; ip < m_panels; ++ip) {
          const int i0 = ic + ip * mr;
          StridedMatrix src{pr.a.data + i0 * pr.a.row_stride + pc * pr.a.col_stride,
                            pr.a.row_stride, pr.a.col_stride};
          uk.pack_a(std::min(mr, pr.m - i0), kc, src, a_block + std::size_t(ip) * mr * kc);
        }
        for (int ip = 0; ip < m_panels; ++ip) {
          const float* a_panel = a_block + std::size_t(ip) * mr * kc;
          for (int jp = my_col_panels.begin; jp < my_col_panels.end; ++jp) {
            compute_tile(uk, pr, kc, a_panel, b_block + std::size_t(jp) * nr * kc, ic + ip * mr,
                         jc + jp * nr, beta);
          }
        }
      }
    }
  }
}

// C = beta·C, for k == 0 or alpha == 0 (A and B are not read).
void scale_c(int m, int n, float beta, float* c, std::ptrdiff_t ldc) {
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < n; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
  }
}

void check_arguments(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                     const float* b, int ldb, const float* c, int ldc) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("sgemm: " + what); };
  if (m < 0 || n < 0 || k < 0) {
    fail("negative size m=" + std::to_string(m) + " n=" + std::to_string(n) +
         " k=" + std::to_string(k));
  }
  const int a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
  if (lda < std::max(1, a_cols)) {
    fail("lda=" + std::to_string(lda) + " is less than the " + std::to_string(a_cols) +
         " columns of A as stored" + (trans_a ? " (transposed)" : ""));
  }
  if (ldb < std::max(1, b_cols)) {
    fail("ldb=" + std::to_string(ldb) + " is less than the " + std::to_string(b_cols) +
         " columns of B as stored" + (trans_b ? " (transposed)" : ""));
  }
  if (ldc < std::max(1, n)) {
    fail("ldc=" + std::to_string(ldc) + " is less than n=" + std::to_string(n));
  }
  if (m > 0 && n > 0 && !c) fail("C is null");
  if (m > 0 && n > 0 && k > 0 && (!a || !b)) fail(!a ? "A is null" : "B is null");
}

}  // namespace

const MicroKernel& sgemm_detail::active_micro_kernel() { return kernel_for(active_simd_level()); }

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  check_arguments(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }

  const MicroKernel& uk = sgemm_detail::active_micro_kernel();
  Problem pr{m,
             n,
             k,
             alpha,
             beta,
             trans_a ? StridedMatrix{a, 1, lda} : StridedMatrix{a, lda, 1},
             trans_b ? StridedMatrix{b, 1, ldb} : StridedMatrix{b, ldb, 1},
             c,
             ldc};

  const double flops = 2.0 * m * n * k;
  // Inside someone else's parallel region we run on this thread alone.
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  threads = std::min(threads, std::max(1, static_cast<int>(flops / kMinFlopsPerThread)));
  threads = std::min(threads, ceil_div(m, uk.mr) * ceil_div(n, uk.nr));

  const Blocking blk = choose_blocking(uk, m, k, threads);
  const int kc = std::min(blk.kc, k);
  const int nc = std::min(blk.nc, ceil_div(n, uk.nr) * uk.nr);
  const int m_panels = ceil_div(m, uk.mr), n_panels = ceil_div(nc, uk.nr);

  // The calling thread owns the shared B buffers.
  Workspace& ws = thread_workspace();
  float* const b_blocks[2] = {ws.b_block[0].reserve(std::size_t(kc) * nc),
                              ws.b_block[1].reserve(std::size_t(kc) * nc)};

  TeamBarrier barrier;
  if (threads == 1) {
    blocked_gemm(pr, uk, blk, {1, 1}, b_blocks, barrier, 0, 1);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    // The team may be smaller than asked for; plan for the one we got.
    const int team = omp_get_num_threads();
    const ThreadGrid grid = choose_grid(team, m_panels, n_panels, m, n);
    blocked_gemm(pr, uk, blk, grid, b_blocks, barrier, omp_get_thread_num(), team);
  }
}

}  // namespace gc::cpu
