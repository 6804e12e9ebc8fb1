// The page GET / serves (serve/page/index.html, embedded at build time by
// serve/CMakeLists.txt): draw a digit, see the model's answer; the server's
// live stats. Plain HTML, CSS and JavaScript, nothing fetched from elsewhere.
#pragma once

#include <string_view>

namespace gc::serve {

extern const std::string_view kHttpPage;

}  // namespace gc::serve
