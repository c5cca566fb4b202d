// A text file written whole or not at all: under a temporary name beside it, then renamed over
// it, so a reader (or a run resumed after a kill) never sees half a file, and a failed write
// leaves what was at the path.
#pragma once

#include <string>
#include <string_view>

namespace cubist {

// Throws Error naming `path` when the text cannot be written or moved into place; the
// temporary file is removed then.
void write_text_file(const std::string& path, std::string_view text);

// The whole file at `path`, byte for byte; an Error naming it when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace cubist
