// Each `gradcore <subcommand>` lives in its own tools/cmd_<name>.cpp and
// registers itself here with a static CommandRegistration, so adding a
// subcommand touches one file. The file is compiled straight into the
// gradcore binary (tools/CMakeLists.txt), so the registration is never
// dropped by the linker.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace gc::tools {

// Adds the subcommand to the app: creates it with app.add_subcommand(name,
// help), declares its options and sets its callback. The callback signals
// failure by throwing (gc::tools::Failure, or any std::exception): main prints
// "gradcore <name>: <message>" on one line and exits 1.
using CommandSetup = std::function<void(CLI::App& app)>;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Option checks whose errors say what was expected: CLI11's PositiveNumber
// and NonNegativeNumber report "not in range 0.000000 to 1797693...".
inline CLI::Validator at_least_check(double minimum, bool inclusive, const std::string& expected) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        bool ok = CLI::detail::lexical_cast(text, value) && (inclusive ? value >= minimum : value > minimum);
        return ok ? std::string() : "expected " + expected + ", got " + text;
      },
      expected);
}
inline const CLI::Validator kPositive = at_least_check(0, false, "a number > 0");
inline const CLI::Validator kNonNegative = at_least_check(0, true, "a number >= 0");

// --conv-algo auto|direct|winograd (kernels/cpu/conv2d.h ConvAlgo), for the
// commands that run convolutions on the CPU; each applies it with
// cpu::set_conv_algo(cpu::parse_conv_algo(value)) before any work, so a bad
// name fails first, naming the choices.
inline void add_conv_algo_option(CLI::App* cmd, std::string& value) {
  cmd->add_option("--conv-algo", value,
                  "CPU convolution method: auto (Winograd where it is faster), direct (im2col + GEMM: exactly 0 "
                  "wherever every product is 0), winograd (wherever it applies)")
      ->capture_default_str();
}

struct Command {
  std::string name;
  CommandSetup setup;
};

std::vector<Command>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

}  // namespace gc::tools
