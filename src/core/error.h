// Errors: the library reports every problem by throwing cubist::Error with a message that names
// the op or file and says what is wrong and what is accepted. It never prints or exits.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace cubist {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Throws cubist::Error whose message is the arguments streamed one after another.
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(detail::concat(args...));
}

}  // namespace cubist

// CUBIST_CHECK(cond, "op: what is wrong ", value, ...): throws cubist::Error when cond is false.
#define CUBIST_CHECK(cond, ...)    \
  do {                             \
    if (!(cond)) [[unlikely]]      \
      ::cubist::fail(__VA_ARGS__); \
  } while (0)
