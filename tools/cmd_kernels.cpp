// `gradcore kernels [--json] [--report-dir DIR] [--block N]`: the static
// report of every CUDA kernel compiled for sm_90 (read without a GPU):
// registers per thread, spills, static shared memory (ptxas -v), theoretical
// occupancy on an H100, and the kernel's PTX instruction mix. Static only:
// it never prints a time. The inputs are made at build time by
// gradcore_cuda_library (kernels/cuda/CMakeLists.txt) under
// <build>/kernels/cuda/report/<library>/<file>.{ptxas.txt,ptx}.
#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tools/command.h"

namespace gc::tools {
namespace {

namespace fs = std::filesystem;

// H100 (sm_90) per-SM limits, from NVIDIA's documentation.
constexpr int kRegistersPerSm = 65536;
constexpr int kRegisterGranularity = 256;  // registers are allocated per warp in units of 256
constexpr int kSharedBytesPerSm = 228 * 1024;
constexpr int kSharedReservedPerBlock = 1024;  // the runtime reserves 1 KB per block
constexpr int kSharedGranularity = 128;
constexpr int kThreadsPerSm = 2048;
constexpr int kBlocksPerSm = 32;
constexpr int kWarpsPerSm = kThreadsPerSm / 32;
constexpr int kDefaultBlock = 256;

constexpr const char* kFormula =
    "occupancy = B*W/64 with W = ceil(block/32) warps and B = min(32, floor(64/W), "
    "floor(floor(65536/(ceil(32*regs/256)*256))/W), floor(233472/ceil128(smem+1024)))";

struct Kernel {
  std::string name;  // demangled
  std::string file;
  int registers = 0, spill_stores = 0, spill_loads = 0, static_shared = 0, stack = 0;
  int block = kDefaultBlock;
  bool block_from_launch_bounds = false;
  long instructions = 0, fma = 0, ld_shared_v4 = 0, ld_global_v4 = 0, barriers = 0;
  int blocks_per_sm = 0;
  double occupancy = 0;
  std::string limiter;
};

std::string demangle(const std::string& mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status),
                                                   &std::free);
  return status == 0 && text ? text.get() : mangled;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Failure("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ptxas -v: one block of lines per entry function.
void read_ptxas(const fs::path& path, const std::string& file, std::map<std::string, Kernel>& kernels) {
  static const std::regex entry(R"(Compiling entry function '([^']+)' for 'sm_90')");
  static const std::regex frame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers)");
  static const std::regex smem(R"((\d+) bytes smem)");
  std::istringstream lines(read_file(path));
  Kernel* current = nullptr;
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, m, entry)) {
      current = &kernels[m[1]];
      current->name = demangle(m[1]);
      current->file = file;
    } else if (current && std::regex_search(line, m, frame)) {
      current->stack = std::stoi(m[1]);
      current->spill_stores = std::stoi(m[2]);
      current->spill_loads = std::stoi(m[3]);
    } else if (current && std::regex_search(line, m, used)) {
      current->registers = std::stoi(m[1]);
      if (std::regex_search(line, m, smem)) current->static_shared = std::stoi(m[1]);
    }
  }
}

// PTX: each `.entry name(` ... `{ body }`; counts the body's instructions.
void read_ptx(const fs::path& path, std::map<std::string, Kernel>& kernels) {
  static const std::regex entry(R"(\.entry\s+([A-Za-z0-9_$]+)\s*\()");
  static const std::regex maxntid(R"(\.maxntid\s+(\d+),\s*(\d+),\s*(\d+))");
  std::istringstream lines(read_file(path));
  Kernel* current = nullptr;
  int depth = 0;
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    const auto start = line.find_first_not_of(" \t");
    const std::string text = start == std::string::npos ? "" : line.substr(start);
    if (depth == 0 && std::regex_search(text, m, entry)) {
      auto it = kernels.find(m[1]);
      current = it == kernels.end() ? nullptr : &it->second;
      continue;
    }
    if (!current) continue;
    if (depth == 0 && std::regex_search(text, m, maxntid)) {
      current->block = std::stoi(m[1]) * std::stoi(m[2]) * std::stoi(m[3]);
      current->block_from_launch_bounds = true;
    }
    if (text.starts_with("{")) ++depth;
    if (text.starts_with("}") && --depth == 0) current = nullptr;
    if (depth == 0 || text.empty() || text[0] == '.' || text[0] == '{' || text[0] == '}' || text[0] == '$' ||
        text.starts_with("//")) {
      continue;
    }
    std::istringstream words(text);
    std::string op;
    words >> op;
    if (op.starts_with("@")) words >> op;  // predicated
    ++current->instructions;
    if (op.starts_with("fma.rn.f32")) ++current->fma;
    if (op.starts_with("ld.shared.v4")) ++current->ld_shared_v4;
    if (op.starts_with("ld.global") && op.find(".v4") != std::string::npos) ++current->ld_global_v4;
    if (op.starts_with("bar.sync") || op.starts_with("barrier.sync")) ++current->barriers;
  }
}

void compute_occupancy(Kernel& k) {
  const int warps = (k.block + 31) / 32;
  std::vector<std::pair<int, std::string>> limits = {{kBlocksPerSm, "blocks"}, {kWarpsPerSm / warps, "threads"}};
  if (k.registers > 0) {
    const int per_warp = (k.registers * 32 + kRegisterGranularity - 1) / kRegisterGranularity * kRegisterGranularity;
    limits.push_back({kRegistersPerSm / per_warp / warps, "registers"});
  }
  const int shared = (k.static_shared + kSharedReservedPerBlock + kSharedGranularity - 1) / kSharedGranularity *
                     kSharedGranularity;
  limits.push_back({kSharedBytesPerSm / shared, "shared memory"});
  const auto lowest = std::min_element(limits.begin(), limits.end());
  k.blocks_per_sm = lowest->first;
  k.limiter = lowest->second;
  k.occupancy = static_cast<double>(k.blocks_per_sm * warps) / kWarpsPerSm;
}

fs::path default_report_dir() {
  if (const char* env = std::getenv("GRADCORE_KERNEL_REPORT_DIR")) return env;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path("kernels/cuda/report") : exe.parent_path().parent_path() / "kernels/cuda/report";
}

std::vector<Kernel> collect(const fs::path& dir, int block_override) {
  if (!fs::is_directory(dir)) {
    throw Failure("no kernel report data in " + dir.string() +
                  " (it is built by nvcc with the CUDA libraries; pass --report-dir <build>/kernels/cuda/report)");
  }
  std::vector<fs::path> files;
  for (const auto& item : fs::recursive_directory_iterator(dir)) {
    const std::string name = item.path().filename().string();
    if (name.ends_with(".ptxas.txt")) files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Kernel> all;
  for (const auto& ptxas : files) {
    const std::string stem = ptxas.filename().string().substr(0, ptxas.filename().string().size() - 10);
    const std::string label = ptxas.parent_path().filename().string() + "/" + stem + ".cu";
    std::map<std::string, Kernel> kernels;
    read_ptxas(ptxas, label, kernels);
    read_ptx(ptxas.parent_path() / (stem + ".ptx"), kernels);
    for (auto& [mangled, k] : kernels) {
      if (block_override > 0) {
        k.block = block_override;
        k.block_from_launch_bounds = false;
      }
      compute_occupancy(k);
      all.push_back(k);
    }
  }
  return all;
}

double share(long part, long whole) { return whole ? 100.0 * static_cast<double>(part) / whole : 0.0; }

std::string short_name(const std::string& name) {
  std::string shown = name;
  if (shown.starts_with("(anonymous namespace)::")) shown = shown.substr(23);
  return shown.substr(0, shown.find('('));
}

void print_table(const std::vector<Kernel>& kernels) {
  std::printf("Static CUDA kernel report, sm_90 (H100 limits; static, no timings)\n");
  std::printf("%s\n", kFormula);
  std::printf("block: from __launch_bounds__ (*), else %d; instruction shares are of static PTX instructions\n\n",
              kDefaultBlock);
  std::printf("%-36s %-34s %6s %5s %6s %6s %7s %6s %-13s %6s %6s %6s %6s\n", "kernel", "file", "block", "regs",
              "spillS", "spillL", "smem", "occup", "limited by", "fma%", "lds4%", "ldg4%", "bar%");
  for (const auto& k : kernels) {
    std::printf("%-36s %-34s %5d%s %5d %6d %6d %7d %5.0f%% %-13s %6.1f %6.1f %6.1f %6.1f\n",
                short_name(k.name).c_str(), k.file.c_str(), k.block, k.block_from_launch_bounds ? "*" : " ",
                k.registers, k.spill_stores, k.spill_loads, k.static_shared, 100.0 * k.occupancy,
                k.limiter.c_str(), share(k.fma, k.instructions), share(k.ld_shared_v4, k.instructions),
                share(k.ld_global_v4, k.instructions), share(k.barriers, k.instructions));
  }
}

void print_json(const std::vector<Kernel>& kernels) {
  nlohmann::json out = {{"arch", "sm_90"}, {"formula", kFormula}, {"kernels", nlohmann::json::array()}};
  for (const auto& k : kernels) {
    out["kernels"].push_back({{"name", k.name},
                              {"file", k.file},
                              {"block", k.block},
                              {"block_from_launch_bounds", k.block_from_launch_bounds},
                              {"registers", k.registers},
                              {"spill_stores", k.spill_stores},
                              {"spill_loads", k.spill_loads},
                              {"stack_bytes", k.stack},
                              {"static_shared_bytes", k.static_shared},
                              {"blocks_per_sm", k.blocks_per_sm},
                              {"occupancy", k.occupancy},
                              {"limited_by", k.limiter},
                              {"ptx_instructions", k.instructions},
                              {"fma_rn_f32", k.fma},
                              {"ld_shared_v4", k.ld_shared_v4},
                              {"ld_global_v4", k.ld_global_v4},
                              {"bar_sync", k.barriers}});
  }
  std::printf("%s\n", out.dump(2).c_str());
}

struct KernelsArgs {
  bool json = false;
  std::string dir;
  int block = 0;
};

const CommandRegistration reg{"kernels", [](CLI::App& app) {
  auto args = std::make_shared<KernelsArgs>();
  auto* cmd = app.add_subcommand("kernels", "Static report of every CUDA kernel for sm_90 (no GPU, no timings)");
  cmd->add_flag("--json", args->json, "JSON for scripts instead of the table");
  cmd->add_option("--report-dir", args->dir, "ptxas/PTX captured at build time (default <build>/kernels/cuda/report)");
  cmd->add_option("--block", args->block, "threads per block for every kernel (default: __launch_bounds__ or 256)")
      ->check(CLI::Range(1, 1024));
  cmd->callback([args] {
    const auto kernels = collect(args->dir.empty() ? default_report_dir() : fs::path(args->dir), args->block);
    if (kernels.empty()) throw Failure("no kernels found in the report data");
    if (args->json) {
      print_json(kernels);
    } else {
      print_table(kernels);
    }
  });
}};

}  // namespace
}  // namespace gc::tools
