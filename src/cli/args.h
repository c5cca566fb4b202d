// A small command-line option parser. Options are read lazily: `--name value`, `--name=value`, or
// a bare `--name` switch. An option given twice is refused, and finish() rejects anything not
// asked for, naming it and listing the accepted options, so a typo never passes silently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace cubist::cli {

// Bad command-line input: main() prints the message and the command's usage and exits with 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

class Args {
 public:
  Args(int argc, char** argv);  // argv: the command's own arguments (after its name)
  explicit Args(std::vector<std::string> tokens);

  std::string str(const std::string& name, const std::string& fallback);
  // A file or folder; "" when not given, and an empty value given is refused (--model '' would
  // otherwise quietly mean the default).
  std::string path(const std::string& name);
  std::string required(const std::string& name);  // an option that must be given
  int64_t integer(const std::string& name, int64_t fallback);
  // A random seed: a whole number from 0 to 2^64 - 1 (a negative one is refused, not wrapped).
  uint64_t seed(const std::string& name, uint64_t fallback);
  double number(const std::string& name, double fallback);
  bool flag(const std::string& name);  // a switch without a value
  // An option of `n` values, `--name A B` or `--name=A B` (none if not given); `usage` shows
  // its form in the error when values are missing. A token that starts with '-' is an option,
  // never a value.
  std::vector<std::string> values(const std::string& name, size_t n, const std::string& usage);
  bool has(const std::string& name) const;
  // Arguments that are not options, in order. Call after reading every option.
  std::vector<std::string> positional();
  // Throws UsageError for any option that no call above asked for.
  void finish();

 private:
  std::vector<std::string> tokens_;
  std::vector<bool> used_;
  std::vector<std::string> known_;
  int find(const std::string& name) const;
  void once(const std::string& name) const;  // throws UsageError if `name` is left unread
  // Marks the option known and its token read (refusing a second copy): its index, -1 if absent.
  int claim(const std::string& name);
  const std::string* value(const std::string& name);
};

// "64x96" -> {64, 96}; throws UsageError naming the option otherwise.
std::pair<int64_t, int64_t> parse_size(const std::string& option, const std::string& text);
std::vector<std::string> split(const std::string& text, char sep);
// A line of arguments as a POSIX shell splits it, without expansions: blanks separate
// arguments; '...' keeps everything inside as it is; "..." keeps it but for \" and \\; a
// backslash outside quotes keeps the next character. An unclosed quote throws UsageError.
std::vector<std::string> split_arguments(const std::string& line);

}  // namespace cubist::cli
