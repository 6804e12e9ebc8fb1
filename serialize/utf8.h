// UTF-8 validation for names and string metadata read from files.
#pragma once

#include <string_view>

namespace gc::serialize {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
bool is_valid_utf8(std::string_view text);

}  // namespace gc::serialize
