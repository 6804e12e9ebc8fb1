// SGEMM throughput: ours (gc::cpu::sgemm) against OpenBLAS cblas_sgemm in the
// same binary, on square sizes and on the MNIST model's GEMM shapes.
//
//   ninja -C build bench_gemm && ./build/bench/kernels/bench_gemm --benchmark_repetitions=5
//   GRADCORE_SIMD=avx2 ./build/bench/kernels/bench_gemm ...   (force a SIMD path)
//
// Counter GFLOP/s = 2·m·n·k / time. Thread counts are set per benchmark:
// ours with omp_set_num_threads, OpenBLAS with openblas_set_num_threads.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"

#ifdef GRADCORE_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

struct Shape {
  int m, n, k;
  bool trans_a, trans_b;
};

struct Operands {
  std::vector<float> a, b, c;
  explicit Operands(const Shape& s)
      : a(std::size_t(s.m) * s.k), b(std::size_t(s.k) * s.n), c(std::size_t(s.m) * s.n) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
  }
};

// Row strides of the operands as stored (dense).
int lda_of(const Shape& s) { return s.trans_a ? s.m : s.k; }
int ldb_of(const Shape& s) { return s.trans_b ? s.k : s.n; }

void set_flops_counter(benchmark::State& state, const Shape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * s.m * s.n * s.k * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void run_ours(benchmark::State& state, const Shape& s, int threads) {
  Operands op(s);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  for (auto _ : state) {
    gc::cpu::sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, op.a.data(), lda_of(s),
                   op.b.data(), ldb_of(s), 0.0f, op.c.data(), s.n);
    benchmark::DoNotOptimize(op.c.data());
    benchmark::ClobberMemory();
  }
  omp_set_num_threads(saved);
  set_flops_counter(state, s);
  state.SetLabel(gc::cpu::simd_name(gc::cpu::active_simd_level()));
}

#ifdef GRADCORE_HAVE_OPENBLAS
void run_openblas(benchmark::State& state, const Shape& s, int threads) {
  Operands op(s);
  openblas_set_num_threads(threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.0f, op.a.data(),
                lda_of(s), op.b.data(), ldb_of(s), 0.0f, op.c.data(), s.n);
    benchmark::DoNotOptimize(op.c.data());
    benchmark::ClobberMemory();
  }
  set_flops_counter(state, s);
}
#endif

// Args: {n, threads}
void BM_SgemmSquare_Ours(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  run_ours(state, {n, n, n, false, false}, static_cast<int>(state.range(1)));
}

// Args: {shape index into kModelShapes, threads}
// The MNIST model's GEMMs at batch 128:
//   0-2: dense 576→64: forward X·Wᵀ, grad-input dY·W, grad-weight dYᵀ·X
//   3-5: dense 64→10, the same three
//   6:   conv1 1→32 forward as im2col: W[32×9] · cols[9 × 676·128]
//   7-9: conv2 32→64 (13×13 out) as im2col over the whole batch: forward
//        W[64×288]·cols, grad-weight dY·colsᵀ, grad-input Wᵀ·dY
constexpr Shape kModelShapes[] = {
    {128, 64, 576, false, true},        {128, 576, 64, false, false},
    {64, 576, 128, true, false},        {128, 10, 64, false, true},
    {128, 64, 10, false, false},        {10, 64, 128, true, false},
    {32, 676 * 128, 9, false, false},   {64, 169 * 128, 288, false, false},
    {64, 288, 169 * 128, false, true},  {288, 169 * 128, 64, true, false},
};

void BM_SgemmModel_Ours(benchmark::State& state) {
  run_ours(state, kModelShapes[state.range(0)], static_cast<int>(state.range(1)));
}

void square_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "threads"});
  for (int n : {256, 512, 1024, 2048})
    for (int threads : {1, 2}) b->Args({n, threads});
  b->UseRealTime();
}

void model_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads"});
  for (int i = 0; i < int(std::size(kModelShapes)); ++i)
    for (int threads : {1, 2}) b->Args({i, threads});
  b->UseRealTime();
}

BENCHMARK(BM_SgemmSquare_Ours)->Apply(square_args);
BENCHMARK(BM_SgemmModel_Ours)->Apply(model_args);

#ifdef GRADCORE_HAVE_OPENBLAS
void BM_SgemmSquare_OpenBLAS(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  run_openblas(state, {n, n, n, false, false}, static_cast<int>(state.range(1)));
}
void BM_SgemmModel_OpenBLAS(benchmark::State& state) {
  run_openblas(state, kModelShapes[state.range(0)], static_cast<int>(state.range(1)));
}
BENCHMARK(BM_SgemmSquare_OpenBLAS)->Apply(square_args);
BENCHMARK(BM_SgemmModel_OpenBLAS)->Apply(model_args);
#endif

}  // namespace

BENCHMARK_MAIN();
