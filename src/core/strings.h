// Small string helpers: joining words for messages ("accepted: a, b, c"), excerpts of long
// text, ASCII lower case and a byte-order mark left out, each the one place that does it.
#pragma once

#include <algorithm>
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

// `text` in double quotes for a message, cut after `most` bytes (at a character's start) with
// "..." and its length where it is longer: a 20 KB prompt repeated whole buries the error. (Not
// named `quoted`: std::quoted, found for a std::string by its namespace, would be called.)
inline std::string quoted_excerpt(std::string_view text, size_t most = 120) {
  std::string out(1, '"');
  if (text.size() <= most) return out.append(text).append(1, '"');
  size_t cut = most;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  out.append(text.data(), cut).append("...\" (");
  return out.append(std::to_string(text.size())).append(" characters)");
}

// `text` with ASCII letters lower-cased and every other byte as it was: file extensions, header
// names and tag keys, which are ASCII; UTF-8 text passes through unchanged.
inline std::string ascii_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return text;
}

// `text` without a UTF-8 byte-order mark at its start: Windows tools (Excel's "CSV UTF-8",
// Notepad) begin files with one, which is no part of the text.
inline std::string without_bom(std::string text) {
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  return text;
}

}  // namespace cubist
