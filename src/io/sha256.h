// SHA-256 digests (FIPS 180-4) of files and strings, through FFmpeg's libavutil (already linked
// for video): provenance records which model files made an output.
#pragma once

#include <string>
#include <string_view>

namespace cubist {

// Lower-case hexadecimal, 64 characters.
std::string sha256_hex(std::string_view data);
// The digest of a file's bytes; a file that cannot be read is an Error naming it.
std::string sha256_file(const std::string& path);

}  // namespace cubist
