// The RELOAD shared secret, for the server and the clients alike: from a file
// when one is named, else from the environment variable GRADCORE_RELOAD_TOKEN.
#pragma once

#include <string>
#include <string_view>

namespace gc::serve {

inline constexpr const char* kReloadTokenVariable = "GRADCORE_RELOAD_TOKEN";

// The token with surrounding whitespace trimmed; "" when no file is named and
// the variable is unset. Throws when the file cannot be read or is empty.
std::string read_reload_token(const std::string& token_file);

// Compares without an early exit, so the time taken does not reveal how
// much of a guessed token was right.
bool tokens_equal(std::string_view given, std::string_view expected);

}  // namespace gc::serve
