// The `gradcore` command-line tool: one binary, one subcommand per file.
#include "tools/command.h"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace gc::tools {
std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace gc::tools

int main(int argc, char** argv) {
  CLI::App app{"gradcore: a from-scratch neural-network engine (train, eval, serve, inspect)"};
  app.require_subcommand(1);
  auto& commands = gc::tools::command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& command : commands) command.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::string name = app.get_subcommands().empty() ? "" : " " + app.get_subcommands()[0]->get_name();
    std::fprintf(stderr, "gradcore%s: %s\n", name.c_str(), e.what());
    return 1;
  }
  return 0;
}
