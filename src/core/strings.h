// Joining words for messages ("accepted: a, b, c"), the one place that does it.
#pragma once

#include <string>
#include <string_view>

namespace cubist {

// The items of any range of strings (or of what converts to std::string_view, such as
// const char*) with `sep` between each two: join({"a", "b"}, ", ") == "a, b".
template <typename Range>
std::string join(const Range& items, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += sep;
    out += std::string_view(item);
    first = false;
  }
  return out;
}

}  // namespace cubist
