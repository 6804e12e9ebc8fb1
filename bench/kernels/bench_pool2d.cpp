// max_pool2d (2×2, stride 2) forward and backward at the seed CNN's shapes,
// batch 128: 32 channels of 26×26 and 64 channels of 11×11 (floor mode:
// 13×13 and 5×5 outputs). avg_pool2d on the same shapes for comparison.
// BM_max_pool_forward_values is the inference pass, without arg-max.
// Counter GB/s: bytes a pass must move (input + output + argmax for forward;
// dy + argmax + dx for backward) / time.
//
//   ninja -C build bench_pool2d && build/bench/kernels/bench_pool2d --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/pool2d.h"

namespace {

using gc::cpu::Pool2dShape;

const Pool2dShape kShapes[] = {
    {128, 32, 26, 26, 2, 2, 2, 2},
    {128, 64, 11, 11, 2, 2, 2, 2},
};

struct PoolBuffers {
  Pool2dShape s;
  size_t x_size, y_size;
  std::vector<float> x, y, dy, dx;
  std::vector<int32_t> argmax;
  explicit PoolBuffers(const Pool2dShape& shape)
      : s(shape),
        x_size(size_t(s.n) * s.c * s.h * s.w),
        y_size(size_t(s.n) * s.c * s.out_h() * s.out_w()),
        x(x_size),
        y(y_size),
        dy(y_size),
        dx(x_size),
        argmax(y_size) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto& e : x) e = dist(rng);
    for (auto& e : dy) e = dist(rng);
    gc::cpu::max_pool2d_forward(s, x.data(), y.data(), argmax.data());
  }
};

void set_bandwidth(benchmark::State& state, double bytes) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_max_pool_forward(benchmark::State& state) {
  PoolBuffers b(kShapes[state.range(0)]);
  for (auto _ : state) {
    gc::cpu::max_pool2d_forward(b.s, b.x.data(), b.y.data(), b.argmax.data());
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 4.0 * (b.x_size + 2 * b.y_size));
}

// Inference: no arg-max to write.
void BM_max_pool_forward_values(benchmark::State& state) {
  PoolBuffers b(kShapes[state.range(0)]);
  for (auto _ : state) {
    gc::cpu::max_pool2d_forward<float>(b.s, b.x.data(), b.y.data(), nullptr);
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 4.0 * (b.x_size + b.y_size));
}

void BM_max_pool_backward(benchmark::State& state) {
  PoolBuffers b(kShapes[state.range(0)]);
  for (auto _ : state) {
    gc::cpu::max_pool2d_backward(b.s, b.dy.data(), b.argmax.data(), b.dx.data());
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 4.0 * (b.x_size + 2 * b.y_size));
}

void BM_avg_pool_forward(benchmark::State& state) {
  PoolBuffers b(kShapes[state.range(0)]);
  for (auto _ : state) {
    gc::cpu::avg_pool2d_forward(b.s, b.x.data(), b.y.data());
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 4.0 * (b.x_size + b.y_size));
}

void BM_avg_pool_backward(benchmark::State& state) {
  PoolBuffers b(kShapes[state.range(0)]);
  for (auto _ : state) {
    gc::cpu::avg_pool2d_backward(b.s, b.dy.data(), b.dx.data());
    benchmark::ClobberMemory();
  }
  set_bandwidth(state, 4.0 * (b.x_size + b.y_size));
}

#define SHAPE_ARGS Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_max_pool_forward)->SHAPE_ARGS;
BENCHMARK(BM_max_pool_forward_values)->SHAPE_ARGS;
BENCHMARK(BM_max_pool_backward)->SHAPE_ARGS;
BENCHMARK(BM_avg_pool_forward)->SHAPE_ARGS;
BENCHMARK(BM_avg_pool_backward)->SHAPE_ARGS;

}  // namespace

BENCHMARK_MAIN();
