// Memory-bound kernels at the seed CNN's first activation, 128×32×26×26
// (2.77 M floats, 11 MB per tensor): relu forward/backward, channel-bias add
// and its gradient (sum_to_shape), a full sum, dropout, then softmax
// cross-entropy at the classifier head (128×10) and one Adam step over all
// 93,322 seed-cnn parameters. Arg = OpenMP threads.
//
// GB/s counts the bytes each kernel must move at least once (reads + writes,
// 4 bytes per float); compare it with the machine's memory bandwidth.
//   ninja -C build bench_elementwise && ./build/bench/kernels/bench_elementwise
#include <benchmark/benchmark.h>
#include <omp.h>

#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/rng.h"
#include "kernels/cpu/softmax.h"

namespace {

using namespace gc::cpu;

constexpr int64_t kN = 128, kC = 32, kH = 26, kW = 26;
constexpr int64_t kElems = kN * kC * kH * kW;

std::vector<float> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.uniform(-1, 1));
  return v;
}

void set_rate(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration * static_cast<double>(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_ReluForward(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto x = random_vector(kElems, 1);
  std::vector<float> y(kElems);
  for (auto _ : state) {
    relu_forward(kElems, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * 4 * kElems);  // read x, write y
}

void BM_ReluBackward(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto x = random_vector(kElems, 1), dy = random_vector(kElems, 2);
  std::vector<float> dx(kElems);
  for (auto _ : state) {
    relu_backward(kElems, x.data(), dy.data(), dx.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 3.0 * 4 * kElems);  // read x, dy, write dx
}

const Dims4 kActShape{{kN, kC, kH, kW}};
const Dims4 kActStrides{{kC * kH * kW, kH * kW, kW, 1}};
const Dims4 kBiasShape{{1, kC, 1, 1}};
const Dims4 kBiasStrides{{0, 1, 0, 0}};

void BM_BiasAddChannels(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto x = random_vector(kElems, 1), bias = random_vector(kC, 3);
  std::vector<float> y(kElems);
  for (auto _ : state) {
    binary_forward(BinaryOp::Add, kActShape, x.data(), kActStrides, bias.data(), kBiasStrides, y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * 4 * kElems);  // read x, write y (the bias stays in cache)
}

void BM_BiasGradChannels(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto dy = random_vector(kElems, 4);
  std::vector<float> dbias(kC);
  for (auto _ : state) {
    sum_to_shape(kActShape, dy.data(), kBiasShape, dbias.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 4.0 * kElems);  // read dy
}

void BM_Sum(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto x = random_vector(kElems, 5);
  for (auto _ : state) benchmark::DoNotOptimize(sum(kElems, x.data()));
  set_rate(state, 4.0 * kElems);
}

void BM_DropoutForward(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const auto x = random_vector(kElems, 6);
  std::vector<float> mask(kElems), y(kElems);
  uint64_t seed = 0;
  for (auto _ : state) {
    dropout_forward(kElems, 0.5f, ++seed, x.data(), mask.data(), y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 3.0 * 4 * kElems);  // read x, write mask and y
}

void BM_SoftmaxCrossEntropy(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const int64_t rows = 128, cols = 10;
  const auto logits = random_vector(rows * cols, 7);
  std::vector<int32_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>(r % cols);
  std::vector<float> probs(rows * cols), grad(rows * cols);
  for (auto _ : state) {
    benchmark::DoNotOptimize(softmax_cross_entropy_forward(rows, cols, logits.data(), labels.data(), probs.data()));
    softmax_cross_entropy_backward(rows, cols, probs.data(), labels.data(), 1.0f, grad.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows);
}

void BM_AdamSeedCnn(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  const int64_t n = 93322;
  auto w = random_vector(n, 8);
  const auto g = random_vector(n, 9);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  int64_t step = 0;
  for (auto _ : state) {
    adam_update(n, w.data(), g.data(), m.data(), v.data(), ++step, 1e-3f, 0.9f, 0.999f, 1e-8f, 0, false);
    benchmark::ClobberMemory();
  }
  set_rate(state, 7.0 * 4 * n);  // read w, g, m, v; write w, m, v
}

}  // namespace

BENCHMARK(BM_ReluForward)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_ReluBackward)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_BiasAddChannels)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_BiasGradChannels)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_Sum)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_DropoutForward)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_SoftmaxCrossEntropy)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_AdamSeedCnn)->Arg(1)->Arg(2)->UseRealTime();

BENCHMARK_MAIN();
