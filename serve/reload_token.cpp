#include "serve/reload_token.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gc::serve {

namespace {
std::string trimmed(const std::string& s) {
  const char* space = " \t\r\n";
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}
}  // namespace

std::string read_reload_token(const std::string& token_file) {
  if (token_file.empty()) {
    const char* value = std::getenv(kReloadTokenVariable);
    return value ? trimmed(value) : "";
  }
  std::ifstream in(token_file);
  if (!in) throw std::runtime_error("cannot read the token file " + token_file);
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string token = trimmed(contents.str());
  if (token.empty()) throw std::runtime_error("the token file " + token_file + " is empty");
  return token;
}

bool tokens_equal(std::string_view given, std::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<size_t>(expected.size(), 1)]);
  return difference == 0;
}

}  // namespace gc::serve
