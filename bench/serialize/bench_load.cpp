// Load time of .gcm files: copying loader (read + verify + copy) vs mmap
// loader (map + verify, tensors used in place), plus encode and CRC-32C
// throughput. Both loaders verify every checksum.
//   ninja -C build bench_load && build/bench/serialize/bench_load
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "serialize/crc32c.h"
#include "serialize/model_io.h"

namespace {

using namespace gc::serialize;
namespace fs = std::filesystem;

struct Layer {
  const char* name;
  std::vector<int64_t> shape;
};

// An MNIST-sized CNN (10 tensors, 93,322 parameters) and an MLP of 10,020,874.
const std::vector<Layer> kMnistModel = {
    {"conv1.weight", {32, 1, 3, 3}},  {"conv1.bias", {32}}, {"conv2.weight", {64, 32, 3, 3}},
    {"conv2.bias", {64}},             {"conv3.weight", {64, 64, 3, 3}}, {"conv3.bias", {64}},
    {"fc1.weight", {64, 576}},        {"fc1.bias", {64}},   {"fc2.weight", {10, 64}},
    {"fc2.bias", {10}}};
const std::vector<Layer> kLargeModel = {
    {"fc1.weight", {2048, 784}}, {"fc1.bias", {2048}}, {"fc2.weight", {2048, 2048}}, {"fc2.bias", {2048}},
    {"fc3.weight", {2048, 2048}}, {"fc3.bias", {2048}}, {"fc4.weight", {10, 2048}}, {"fc4.bias", {10}}};

ModelFile make_model(const std::vector<Layer>& layers) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  ModelFile file;
  file.metadata["model.name"] = std::string("bench");
  for (const Layer& layer : layers) {
    int64_t count = 1;
    for (int64_t d : layer.shape) count *= d;
    std::vector<float> values(static_cast<size_t>(count));
    for (float& v : values) v = normal(rng);
    file.add_tensor(TensorRecord::from_floats(layer.name, layer.shape, values.data()));
  }
  return file;
}

const fs::path& model_path(bool large) {
  static const fs::path dir = fs::temp_directory_path() / ("gc_bench_load_" + std::to_string(::getpid()));
  static const fs::path paths[2] = {dir / "mnist.gcm", dir / "large.gcm"};
  static bool written[2] = {false, false};
  if (!written[large]) {
    fs::create_directories(dir);
    write_model_file(paths[large], make_model(large ? kLargeModel : kMnistModel));
    written[large] = true;
  }
  return paths[large];
}

void set_counters(benchmark::State& state, bool large) {
  const auto bytes = static_cast<int64_t>(fs::file_size(model_path(large)));
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["file_bytes"] = static_cast<double>(bytes);
}

void BM_CopyLoad(benchmark::State& state) {
  const bool large = state.range(0) != 0;
  const fs::path& path = model_path(large);
  for (auto _ : state) {
    ModelFile file = read_model_file(path);
    benchmark::DoNotOptimize(file.tensors.back().data.data());
  }
  set_counters(state, large);
  state.counters["params"] = static_cast<double>(read_model_file(path).parameter_count());
}

void BM_MmapLoad(benchmark::State& state) {
  const bool large = state.range(0) != 0;
  const fs::path& path = model_path(large);
  for (auto _ : state) {
    MappedModelFile file = map_model_file(path);
    benchmark::DoNotOptimize(file.tensors.back().data.data());
  }
  set_counters(state, large);
}

void BM_Encode(benchmark::State& state) {
  const ModelFile file = make_model(state.range(0) ? kLargeModel : kMnistModel);
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<std::byte> encoded = encode_model_file(file);
    bytes = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

void BM_Crc32c(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<size_t>(state.range(1)), std::byte{0x5A});
  const bool hardware = state.range(0) != 0;
  if (hardware && !crc32c_hardware_available()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(hardware ? crc32c_hardware(data) : crc32c_portable(data));
  state.SetBytesProcessed(state.iterations() * state.range(1));
  state.SetLabel(hardware ? "sse4.2" : "slicing-by-8");
}

BENCHMARK(BM_CopyLoad)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MmapLoad)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Encode)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Crc32c)->ArgNames({"hw", "bytes"})->Args({0, 1 << 20})->Args({1, 1 << 20})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
