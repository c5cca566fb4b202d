#include "io/gif_comment.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "io/text_file.h"

namespace cubist {

namespace {

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

}  // namespace

std::string gif_comment_text(const std::map<std::string, std::string>& metadata) {
  const auto comment = metadata.find("comment");
  std::string text = comment == metadata.end() ? "" : one_line(comment->second);
  for (const auto& [key, value] : metadata)
    if (key != "comment")
      text.append("\n").append(one_line(key)).append(": ").append(one_line(value));
  return text;
}

std::map<std::string, std::string> gif_comment_metadata(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  m["comment"] = line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(": ");
    if (colon == std::string::npos || colon == 0) return {{"comment", text}};  // not ours
    m[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return m;
}

void add_gif_comment(const std::string& path, const std::string& text) {
  std::string bytes = read_text_file(path);
  CUBIST_CHECK(bytes.size() >= 13 && bytes.compare(0, 6, "GIF89a") == 0, path,
               ": not a GIF89a file, so no comment can be added");
  // The logical screen descriptor's flags: a global colour table of 3 * 2^(n + 1) bytes.
  const auto flags = static_cast<unsigned char>(bytes[10]);
  const size_t table = (flags & 0x80) ? 3u << ((flags & 7) + 1) : 0;
  const size_t at = 13 + table;
  CUBIST_CHECK(bytes.size() >= at, path, ": a GIF shorter than its colour table");
  std::string block = "\x21\xfe";                  // extension introducer, comment label
  for (size_t i = 0; i < text.size(); i += 255) {  // sub-blocks of at most 255 bytes
    const size_t n = std::min<size_t>(255, text.size() - i);
    block += static_cast<char>(n);
    block.append(text, i, n);
  }
  block += '\0';  // the block terminator
  bytes.insert(at, block);
  write_text_file(path, bytes);
}

}  // namespace cubist
