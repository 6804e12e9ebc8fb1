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
