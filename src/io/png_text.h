// A single PNG's metadata in tEXt chunks, so that a generated image carries its provenance
// inside the file as the other forms do. tEXt is Latin-1, and FFmpeg (which reads these chunks
// as the first frame's tags; it does not read iTXt) turns it into UTF-8: characters up to U+00FF
// are written as their Latin-1 byte, others as a JSON escape (\uXXXX), which a JSON value such
// as the provenance record reads back as the same text.
#pragma once

#include <map>
#include <string>

namespace cubist {

// `text` (UTF-8) as tEXt's Latin-1, escaping what Latin-1 cannot hold; bytes that are not
// UTF-8 become '?'.
std::string png_latin1(const std::string& text);

// The PNG `png` with a tEXt chunk for every key of `metadata` (keys of 1 to 79 characters)
// after its header chunk. An Error naming `what` (the file) when it is not a PNG.
std::string with_png_text(std::string png, const std::map<std::string, std::string>& metadata,
                          const std::string& what);

}  // namespace cubist
