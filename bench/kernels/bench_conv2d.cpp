// conv2d forward and backward at the seed CNN's shapes, batch 128, all 3×3,
// stride 1, no padding:
//   layer 0: 1→32 on 28×28, layer 1: 32→64 on 13×13, layer 2: 64→64 on 5×5.
// Counter GFLOP/s = 2·n·c_out·oh·ow·c_in·kh·kw per pass / time (grad-bias
// reports GB/s of dy read instead). BM_*_train_step runs the whole training
// step of the three layers (forward, grad-weight, grad-bias, and grad-input
// except for layer 0, whose input needs no gradient), the figure the target
// (≤ 11 ms on 2 cores) is about.
// conv2d_* picks the method per layer (Winograd for layers 1 and 2, im2col +
// GEMM for layer 0); BM_gradcore_winograd times each Winograd tile on layers
// 1 and 2 (GFLOP/s counted as the direct method's 2·MACs, so it compares
// with the other rows as a speed, not as arithmetic done). BM_*_train_step
// uses conv2d_backward, which shares the dy transforms of grad-input and
// grad-weight; BM_gradcore_conv_train_step/1 runs it with --conv-algo direct.
// BM_*_conv_single_image time one image's inference forward pass (layers 1
// and 2 at batch 1, what a lone request waits for), ours against oneDNN's.
// BM_*_conv_pool_relu time the inference of a layer with its ReLU and 2×2 max
// pool: our fused pass and our three kernels in turn (layers 0 and 1), and
// oneDNN's convolution (ReLU post-op) then pooling (layer 0); GFLOP/s counts
// the convolution alone.
// With oneDNN found, the same passes run through oneDNN (plain NCHW/OIHW
// memory, as our engine stores them) in this binary as the baseline.
//
//   ninja -C build bench_conv2d && build/bench/kernels/bench_conv2d --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_pool.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/cpu/pool2d.h"

#ifdef GRADCORE_HAVE_ONEDNN
#include <dnnl.hpp>
#endif

namespace {

using gc::cpu::Conv2dShape;

const Conv2dShape kLayers[] = {
    {128, 1, 28, 28, 32, 3, 3},
    {128, 32, 13, 13, 64, 3, 3},
    {128, 64, 5, 5, 64, 3, 3},
};

size_t x_size(const Conv2dShape& s) { return size_t(s.n) * s.c_in * s.h * s.w; }
size_t w_size(const Conv2dShape& s) { return size_t(s.c_out) * s.c_in * s.kh * s.kw; }
size_t y_size(const Conv2dShape& s) { return size_t(s.n) * s.c_out * s.out_h() * s.out_w(); }
double conv_flops(const Conv2dShape& s) { return 2.0 * double(y_size(s)) * s.c_in * s.kh * s.kw; }

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

// Inputs, weights and every output of one layer.
struct LayerBuffers {
  Conv2dShape s;
  std::vector<float> x, w, b, y, dy, dx, dw, db;
  explicit LayerBuffers(const Conv2dShape& shape)
      : s(shape),
        x(random_vector(x_size(s), 1)),
        w(random_vector(w_size(s), 2)),
        b(random_vector(s.c_out, 3)),
        y(y_size(s)),
        dy(random_vector(y_size(s), 4)),
        dx(x_size(s)),
        dw(w_size(s)),
        db(s.c_out) {}
};

enum Pass { kForward, kBackwardInput, kBackwardWeight, kBackwardBias };

void set_counters(benchmark::State& state, const Conv2dShape& s, Pass pass) {
  if (pass == kBackwardBias) {
    state.counters["GB/s"] = benchmark::Counter(double(y_size(s)) * sizeof(float) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  } else {
    state.counters["GFLOP/s"] =
        benchmark::Counter(conv_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  }
  state.SetLabel("layer" + std::to_string(state.range(0)));
}

template <Pass pass>
void BM_gradcore_conv(benchmark::State& state) {
  LayerBuffers l(kLayers[state.range(0)]);
  for (auto _ : state) {
    switch (pass) {
      case kForward: gc::cpu::conv2d_forward(l.s, l.x.data(), l.w.data(), l.b.data(), l.y.data()); break;
      case kBackwardInput: gc::cpu::conv2d_backward_input(l.s, l.dy.data(), l.w.data(), l.dx.data()); break;
      case kBackwardWeight: gc::cpu::conv2d_backward_weight(l.s, l.x.data(), l.dy.data(), l.dw.data()); break;
      case kBackwardBias: gc::cpu::conv2d_backward_bias(l.s, l.dy.data(), l.db.data()); break;
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, l.s, pass);
}

template <Pass pass>
void BM_gradcore_winograd(benchmark::State& state) {
  LayerBuffers l(kLayers[state.range(0)]);
  const auto tile = static_cast<gc::cpu::WinogradTile>(state.range(1));
  for (auto _ : state) {
    switch (pass) {
      case kForward:
        gc::cpu::winograd_conv2d_forward(l.s, l.x.data(), l.w.data(), l.b.data(), l.y.data(), tile);
        break;
      case kBackwardInput:
        gc::cpu::winograd_conv2d_backward_input(l.s, l.dy.data(), l.w.data(), l.dx.data(), tile);
        break;
      default:
        gc::cpu::winograd_conv2d_backward_weight(l.s, l.x.data(), l.dy.data(), l.dw.data(), tile);
        break;
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, l.s, pass);
  const char* names[] = {" F(2x2,3x3)", " F(4x4,3x3)", " F(6x6,3x3)", " F(3x3,3x3)"};  // WinogradTile order
  state.SetLabel("layer" + std::to_string(state.range(0)) + names[state.range(1)]);
}

// Inference through layer 0 or 1, its ReLU and its 2×2 max pool: fused
// (conv2d_pool_relu_forward: the direct kernel for layer 0, Winograd's
// pooled output transform for layer 1), or the three kernels in turn.
gc::cpu::Pool2dShape pool_after(const Conv2dShape& s) { return {s.n, s.c_out, s.out_h(), s.out_w(), 2, 2, 2, 2}; }

void BM_gradcore_conv_pool_relu(benchmark::State& state) {
  LayerBuffers l(kLayers[state.range(0)]);
  std::vector<float> pooled(y_size(l.s) / 4);
  for (auto _ : state) {
    gc::cpu::conv2d_pool_relu_forward(l.s, l.x.data(), l.w.data(), l.b.data(), pooled.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(l.s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_gradcore_conv_then_pool_relu(benchmark::State& state) {
  LayerBuffers l(kLayers[state.range(0)]);
  std::vector<float> pooled(y_size(l.s) / 4);
  for (auto _ : state) {
    gc::cpu::conv2d_forward(l.s, l.x.data(), l.w.data(), l.b.data(), l.y.data());
    gc::cpu::max_pool2d_forward<float>(pool_after(l.s), l.y.data(), pooled.data(), nullptr);
    gc::cpu::relu_forward<float>(int64_t(pooled.size()), pooled.data(), pooled.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(l.s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Arg: the method (gc::cpu::ConvAlgo): auto, or direct (im2col + GEMM for
// every layer, --conv-algo direct), the price of exact zeros.
void BM_gradcore_conv_train_step(benchmark::State& state) {
  const auto algo = static_cast<gc::cpu::ConvAlgo>(state.range(0));
  gc::cpu::set_conv_algo(algo);
  state.SetLabel(gc::cpu::conv_algo_name(algo));
  std::vector<LayerBuffers> layers(std::begin(kLayers), std::end(kLayers));
  double flops = 0;
  for (size_t i = 0; i < layers.size(); ++i) flops += conv_flops(layers[i].s) * (i == 0 ? 2 : 3);
  for (auto _ : state) {
    for (size_t i = 0; i < layers.size(); ++i) {
      LayerBuffers& l = layers[i];
      gc::cpu::conv2d_forward(l.s, l.x.data(), l.w.data(), l.b.data(), l.y.data());
    }
    for (size_t i = layers.size(); i-- > 0;) {
      LayerBuffers& l = layers[i];
      gc::cpu::conv2d_backward(l.s, l.x.data(), l.dy.data(), l.w.data(), i > 0 ? l.dx.data() : nullptr,
                               l.dw.data());
      gc::cpu::conv2d_backward_bias(l.s, l.dy.data(), l.db.data());
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  gc::cpu::set_conv_algo(gc::cpu::ConvAlgo::automatic);
}

// One image, as a lone request runs it: conv2d_inference_forward, the pass
// the server takes, on layers 1 and 2 at batch 1.
Conv2dShape single_image(Conv2dShape s) {
  s.n = 1;
  return s;
}

void BM_gradcore_conv_single_image(benchmark::State& state) {
  LayerBuffers l(single_image(kLayers[state.range(0)]));
  for (auto _ : state) {
    gc::cpu::conv2d_inference_forward(l.s, l.x.data(), l.w.data(), l.b.data(), l.y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, l.s, kForward);
}

#define LAYER_ARGS Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
#define SINGLE_IMAGE_ARGS Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond)
BENCHMARK_TEMPLATE(BM_gradcore_conv, kForward)->LAYER_ARGS;
BENCHMARK_TEMPLATE(BM_gradcore_conv, kBackwardInput)->LAYER_ARGS;
BENCHMARK_TEMPLATE(BM_gradcore_conv, kBackwardWeight)->LAYER_ARGS;
BENCHMARK_TEMPLATE(BM_gradcore_conv, kBackwardBias)->LAYER_ARGS;
#define WINOGRAD_ARGS \
  ArgsProduct({{1, 2}, {0, 1}})->ArgNames({"layer", "tile"})->UseRealTime()->Unit(benchmark::kMillisecond)
BENCHMARK_TEMPLATE(BM_gradcore_winograd, kForward)->WINOGRAD_ARGS;
// F(6×6) and F(3×3) have a forward pass only (inference's fused conv + pool,
// and conv2d_inference_forward).
BENCHMARK_TEMPLATE(BM_gradcore_winograd, kForward)
    ->ArgsProduct({{1, 2}, {2, 3}})
    ->ArgNames({"layer", "tile"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_gradcore_winograd, kBackwardInput)->WINOGRAD_ARGS;
BENCHMARK_TEMPLATE(BM_gradcore_winograd, kBackwardWeight)->WINOGRAD_ARGS;
BENCHMARK(BM_gradcore_conv_pool_relu)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gradcore_conv_then_pool_relu)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gradcore_conv_train_step)
    ->Arg(int(gc::cpu::ConvAlgo::automatic))
    ->Arg(int(gc::cpu::ConvAlgo::direct))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gradcore_conv_single_image)->SINGLE_IMAGE_ARGS;

#ifdef GRADCORE_HAVE_ONEDNN
// oneDNN 2.x primitives for one layer, on plain nchw / oihw memory.
struct OnednnLayer {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  LayerBuffers buf;
  dnnl::memory x, w, b, y, dy, dx, dw, db;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_weights;

  explicit OnednnLayer(const Conv2dShape& s) : buf(s) {
    using tag = dnnl::memory::format_tag;
    const auto f32 = dnnl::memory::data_type::f32;
    const dnnl::memory::desc x_md({s.n, s.c_in, s.h, s.w}, f32, tag::nchw);
    const dnnl::memory::desc w_md({s.c_out, s.c_in, s.kh, s.kw}, f32, tag::oihw);
    const dnnl::memory::desc b_md({s.c_out}, f32, tag::x);
    const dnnl::memory::desc y_md({s.n, s.c_out, s.out_h(), s.out_w()}, f32, tag::nchw);
    const dnnl::memory::dims strides{s.stride_h, s.stride_w}, pad{s.pad_h, s.pad_w};
    x = dnnl::memory(x_md, eng, buf.x.data());
    w = dnnl::memory(w_md, eng, buf.w.data());
    b = dnnl::memory(b_md, eng, buf.b.data());
    y = dnnl::memory(y_md, eng, buf.y.data());
    dy = dnnl::memory(y_md, eng, buf.dy.data());
    dx = dnnl::memory(x_md, eng, buf.dx.data());
    dw = dnnl::memory(w_md, eng, buf.dw.data());
    db = dnnl::memory(b_md, eng, buf.db.data());
    const auto alg = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        {dnnl::prop_kind::forward_training, alg, x_md, w_md, b_md, y_md, strides, pad, pad}, eng);
    fwd = dnnl::convolution_forward(fwd_pd);
    bwd_data = dnnl::convolution_backward_data(dnnl::convolution_backward_data::primitive_desc(
        {alg, x_md, w_md, y_md, strides, pad, pad}, eng, fwd_pd));
    bwd_weights = dnnl::convolution_backward_weights(
        dnnl::convolution_backward_weights::primitive_desc(
            {alg, x_md, w_md, b_md, y_md, strides, pad, pad}, eng, fwd_pd));
  }

  void forward() {
    fwd.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
    strm.wait();
  }
  void backward_input() {
    bwd_data.execute(strm, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
    strm.wait();
  }
  // Grad-weight and grad-bias in one oneDNN primitive.
  void backward_weight_and_bias() {
    bwd_weights.execute(strm, {{DNNL_ARG_SRC, x},
                               {DNNL_ARG_DIFF_DST, dy},
                               {DNNL_ARG_DIFF_WEIGHTS, dw},
                               {DNNL_ARG_DIFF_BIAS, db}});
    strm.wait();
  }
};

template <Pass pass>
void BM_onednn_conv(benchmark::State& state) {
  OnednnLayer l(kLayers[state.range(0)]);
  for (auto _ : state) {
    switch (pass) {
      case kForward: l.forward(); break;
      case kBackwardInput: l.backward_input(); break;
      default: l.backward_weight_and_bias(); break;
    }
  }
  set_counters(state, l.buf.s, pass);
}

void BM_onednn_conv_train_step(benchmark::State& state) {
  std::vector<OnednnLayer> layers;
  layers.reserve(3);
  double flops = 0;
  for (size_t i = 0; i < 3; ++i) {
    layers.emplace_back(kLayers[i]);
    flops += conv_flops(kLayers[i]) * (i == 0 ? 2 : 3);
  }
  for (auto _ : state) {
    for (auto& l : layers) l.forward();
    for (size_t i = layers.size(); i-- > 0;) {
      layers[i].backward_weight_and_bias();
      if (i > 0) layers[i].backward_input();
    }
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Layer 0's inference as oneDNN runs it best on this memory: the convolution
// with ReLU as a post-op, then its max pool.
void BM_onednn_conv_pool_relu(benchmark::State& state) {
  using tag = dnnl::memory::format_tag;
  const auto f32 = dnnl::memory::data_type::f32;
  const Conv2dShape& s = kLayers[0];
  LayerBuffers buf(s);
  std::vector<float> pooled(y_size(s) / 4);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::desc x_md({s.n, s.c_in, s.h, s.w}, f32, tag::nchw);
  const dnnl::memory::desc w_md({s.c_out, s.c_in, s.kh, s.kw}, f32, tag::oihw);
  const dnnl::memory::desc b_md({s.c_out}, f32, tag::x);
  const dnnl::memory::desc y_md({s.n, s.c_out, s.out_h(), s.out_w()}, f32, tag::nchw);
  const dnnl::memory::desc p_md({s.n, s.c_out, s.out_h() / 2, s.out_w() / 2}, f32, tag::nchw);
  dnnl::memory x(x_md, eng, buf.x.data()), w(w_md, eng, buf.w.data()), b(b_md, eng, buf.b.data()),
      y(y_md, eng, buf.y.data()), p(p_md, eng, pooled.data());
  dnnl::post_ops relu;
  relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(relu);
  const dnnl::memory::dims one{1, 1}, two{2, 2}, zero{0, 0};
  dnnl::convolution_forward conv(dnnl::convolution_forward::primitive_desc(
      {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, x_md, w_md, b_md, y_md, one, zero,
       zero},
      attr, eng));
  dnnl::pooling_forward pool(dnnl::pooling_forward::primitive_desc(
      {dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, y_md, p_md, two, two, zero, zero}, eng));
  for (auto _ : state) {
    conv.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
    pool.execute(strm, {{DNNL_ARG_SRC, y}, {DNNL_ARG_DST, p}});
    strm.wait();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_onednn_conv_pool_relu)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_onednn_conv_single_image(benchmark::State& state) {
  OnednnLayer l(single_image(kLayers[state.range(0)]));
  for (auto _ : state) l.forward();
  set_counters(state, l.buf.s, kForward);
}

BENCHMARK_TEMPLATE(BM_onednn_conv, kForward)->LAYER_ARGS;
BENCHMARK(BM_onednn_conv_single_image)->SINGLE_IMAGE_ARGS;
BENCHMARK_TEMPLATE(BM_onednn_conv, kBackwardInput)->LAYER_ARGS;
BENCHMARK_TEMPLATE(BM_onednn_conv, kBackwardWeight)->LAYER_ARGS;  // weight + bias
BENCHMARK(BM_onednn_conv_train_step)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

}  // namespace

BENCHMARK_MAIN();
