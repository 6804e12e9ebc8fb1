// Replacing a file so that a crash or an error at any moment leaves either the
// old file or the complete new one under the final name, never a mix.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace gc::serialize {

// Writes `bytes` to a new temporary file in the destination's directory,
// fsyncs it, renames it over `path`, then fsyncs the directory. On failure the
// temporary file is removed, `path` is untouched, and std::system_error is
// thrown naming the path and the failing step.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes);

}  // namespace gc::serialize
