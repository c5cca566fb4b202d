// Base64 (RFC 4648, with padding): binary blobs, such as a SentencePiece model, inside JSON.
#pragma once

#include <string>
#include <string_view>

namespace cubist {

std::string base64_encode(std::string_view bytes);
// Throws Error naming `what` when `text` is not padded base64.
std::string base64_decode(std::string_view text, std::string_view what = "base64 text");

}  // namespace cubist
