// Runs one zoo case (tests/cuda_emu/zoo/) on the emulator and checks how it
// ends. Self-contained (no GoogleTest) so that the racecheck binary is
// instrumented throughout.
//
//   cuda_emu_zoo <case> --expect correct   matches the CPU reference (schedule from GRADCORE_EMU_SCHEDULE)
//   cuda_emu_zoo <case> --expect wrong     wrong under at least one of inorder, reverse, shuffle:1, shuffle:2
//   cuda_emu_zoo <case> --expect error --message <text>...
//                                          the launch fails with a message holding every <text>
//   cuda_emu_zoo <case> --expect run       runs once, whatever happens (a sanitizer judges)
#include "kernels/cuda/launch.h"
#include "tests/cuda_emu/zoo/zoo.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

std::vector<float> pattern(std::size_t n, int salt) {
  std::vector<float> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>((i * 37 + salt * 11) % 101) / 50.0f - 1.0f;
  return values;
}

// Device memory holding a copy of `values` (or n NaNs), freed on scope exit.
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<float>& values) : size_(values.size()) {
    GC_CUDA_CHECK(cudaMalloc(&data_, size_ * sizeof(float)));
    GC_CUDA_CHECK(cudaMemcpy(data_, values.data(), size_ * sizeof(float), cudaMemcpyHostToDevice));
  }
  explicit DeviceArray(std::size_t n) : DeviceArray(std::vector<float>(n, NAN)) {}
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  float* get() const { return data_; }
  std::vector<float> host() const {
    std::vector<float> values(size_);
    GC_CUDA_CHECK(cudaMemcpy(values.data(), data_, size_ * sizeof(float), cudaMemcpyDeviceToHost));
    return values;
  }

 private:
  float* data_ = nullptr;
  std::size_t size_;
};

// NaN never passes: the comparison is written so that NaN fails it.
bool matches(const std::vector<float>& got, const std::vector<float>& want, float tolerance) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= tolerance * (1.0f + std::fabs(want[i])))) {
      std::printf("  first mismatch at %zu: got %g, want %g\n", i, got[i], want[i]);
      return false;
    }
  }
  return true;
}

using Transpose = void (*)(const float*, float*, int, int);
bool check_transpose(Transpose run) {
  const int rows = 45, cols = 70;
  const auto in = pattern(rows * cols, 1);
  DeviceArray d_in(in), d_out(in.size());
  run(d_in.get(), d_out.get(), rows, cols);
  std::vector<float> want(in.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) want[c * rows + r] = in[r * cols + c];
  return matches(d_out.host(), want, 0.0f);
}

using Sgemm = void (*)(const float*, const float*, float*, int, int, int);
bool check_sgemm(Sgemm run) {
  const int m = 37, n = 50, k = 70;  // no multiple of the 16-wide tile
  const auto a = pattern(m * k, 2), b = pattern(k * n, 3);
  DeviceArray d_a(a), d_b(b), d_c(static_cast<std::size_t>(m * n));
  run(d_a.get(), d_b.get(), d_c.get(), m, n, k);
  std::vector<float> want(m * n, 0.0f);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p) want[i * n + j] += a[i * k + p] * b[p * n + j];
  return matches(d_c.host(), want, 1e-5f);
}

using Reduce = void (*)(const float*, float*, int);
// out[g] = sum of in over groups of `group` elements.
bool check_group_sums(Reduce run, int n, int group) {
  const auto in = pattern(n, 4);
  DeviceArray d_in(in), d_out(static_cast<std::size_t>(n / group));
  run(d_in.get(), d_out.get(), n);
  std::vector<float> want(n / group, 0.0f);
  for (int i = 0; i < n; ++i) want[i / group] += in[i];
  return matches(d_out.host(), want, 1e-5f);
}

bool check_scale(Reduce run) {
  const int n = 1000;  // not a multiple of the 256-thread block
  const auto in = pattern(n, 5);
  DeviceArray d_in(in), d_out(static_cast<std::size_t>(n));
  run(d_in.get(), d_out.get(), n);
  std::vector<float> want(n);
  for (int i = 0; i < n; ++i) want[i] = 2.0f * in[i];
  return matches(d_out.host(), want, 0.0f);
}

using Total = void (*)(const float*, float*, float*, int);
bool check_total(Total run) {
  const int n = 5000;
  const auto in = pattern(n, 6);
  DeviceArray d_in(in), d_partial(static_cast<std::size_t>((n + 255) / 256)), d_out(std::size_t{1});
  run(d_in.get(), d_partial.get(), d_out.get(), n);
  double want = 0;
  for (float v : in) want += v;
  return matches(d_out.host(), {static_cast<float>(want)}, 1e-4f);
}

const std::map<std::string, std::function<bool()>>& cases() {
  using namespace gc::zoo;
  static const std::map<std::string, std::function<bool()>> all = {
      {"transpose_tiled", [] { return check_transpose(transpose_tiled); }},
      {"transpose_missing_sync", [] { return check_transpose(transpose_missing_sync); }},
      {"sgemm_tiled", [] { return check_sgemm(sgemm_tiled); }},
      {"sgemm_missing_sync", [] { return check_sgemm(sgemm_missing_sync); }},
      {"warp_sum", [] { return check_group_sums(warp_sum, 320, 32); }},
      {"warp_sum_wrong_offset", [] { return check_group_sums(warp_sum_wrong_offset, 320, 32); }},
      {"warp_sum_wrong_mask", [] { return check_group_sums(warp_sum_wrong_mask, 320, 32); }},
      {"scale_guarded", [] { return check_scale(scale_guarded); }},
      {"scale_off_by_one", [] { return check_scale(scale_off_by_one); }},
      {"sum_two_launches", [] { return check_total(sum_two_launches); }},
      {"sum_reads_other_blocks", [] { return check_total(sum_reads_other_blocks); }},
      {"block_sum",
       [] {
         return check_group_sums([](const float* in, float* out, int n) { block_sum(in, out, n / 256); }, 256 * 6,
                                 256);
       }},
      {"block_sum_divergent_barrier",
       [] {
         return check_group_sums(
             [](const float* in, float* out, int n) { block_sum_divergent_barrier(in, out, n / 256); }, 256 * 6, 256);
       }},
  };
  return all;
}

enum class Outcome { correct, wrong, error };

Outcome run_once(const std::function<bool()>& check, std::string& message) {
  try {
    return check() ? Outcome::correct : Outcome::wrong;
  } catch (const gc::cuda::Error& error) {
    message = error.what();
    return Outcome::error;
  }
}

int usage() {
  std::fprintf(stderr, "usage: cuda_emu_zoo <case> --expect correct|wrong|error|run [--message <text>]...\ncases:");
  for (const auto& [name, check] : cases()) std::fprintf(stderr, " %s", name.c_str());
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[2]) != "--expect" || !cases().count(argv[1])) return usage();
  const auto& check = cases().at(argv[1]);
  const std::string expect = argv[3];
  std::vector<std::string> pieces;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) != "--message") return usage();
    pieces.push_back(argv[i + 1]);
  }
  std::string message;
  if (expect == "correct" || expect == "run" || expect == "error") {
    const Outcome outcome = run_once(check, message);
    std::printf("%s under %s: %s %s\n", argv[1], gc::emu::to_string(gc::emu::current_schedule()).c_str(),
                outcome == Outcome::correct ? "correct" : outcome == Outcome::wrong ? "WRONG" : "ERROR",
                message.c_str());
    if (expect == "run") return 0;
    if (expect == "correct") return outcome == Outcome::correct ? 0 : 1;
    if (outcome != Outcome::error) return 1;
    for (const auto& piece : pieces) {
      if (message.find(piece) == std::string::npos) {
        std::printf("the error does not mention '%s'\n", piece.c_str());
        return 1;
      }
    }
    return 0;
  }
  if (expect == "wrong") {
    bool any_wrong = false;
    for (const char* schedule : {"inorder", "reverse", "shuffle:1", "shuffle:2"}) {
      gc::emu::set_schedule(gc::emu::parse_schedule(schedule));
      const Outcome outcome = run_once(check, message);
      std::printf("%s under %s: %s %s\n", argv[1], schedule,
                  outcome == Outcome::correct ? "correct" : outcome == Outcome::wrong ? "WRONG" : "ERROR",
                  message.c_str());
      if (outcome == Outcome::error) return 1;
      any_wrong |= outcome == Outcome::wrong;
    }
    std::printf(any_wrong ? "caught: a wrong result\n" : "NOT caught: correct under every schedule\n");
    return any_wrong ? 0 : 1;
  }
  return usage();
}
