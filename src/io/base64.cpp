#include "io/base64.h"

#include <array>
#include <cstdint>

#include "core/error.h"

namespace cubist {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of each character, -1 for characters outside the alphabet.
constexpr std::array<int8_t, 256> values() {
  std::array<int8_t, 256> v{};
  for (int8_t& x : v) x = -1;
  for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return v;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t k = 0; k < 3; ++k)
      chunk = chunk << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string base64_decode(std::string_view text, std::string_view what) {
  static constexpr std::array<int8_t, 256> kValues = values();
  CUBIST_CHECK(text.size() % 4 == 0, what, " is not base64: its length ", text.size(),
               " is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    uint32_t chunk = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int8_t v = k >= 4 - pad ? 0 : kValues[static_cast<unsigned char>(text[i + k])];
      CUBIST_CHECK(v >= 0, what, " is not base64: character ", i + k, " is '", text[i + k],
                   "' (accepted: A-Z, a-z, 0-9, '+', '/', and '=' at the end)");
      chunk = chunk << 6 | static_cast<uint32_t>(v);
    }
    for (size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((chunk >> (16 - 8 * k)) & 255);
  }
  return out;
}

}  // namespace cubist
