// One structured log line (key=value ...) per event, to stderr. Values with
// spaces, quotes or '=' are quoted, so every line splits cleanly on spaces.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace gc::serve {

using LogField = std::pair<std::string_view, std::string>;

// Writes "ts=<UTC time> key=value ...\n" with one write call, so lines from
// different threads never interleave.
void log_event(std::initializer_list<LogField> fields);

}  // namespace gc::serve
