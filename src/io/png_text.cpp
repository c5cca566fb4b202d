#include "io/png_text.h"

extern "C" {
#include <libavutil/crc.h>
}

#include <cstdio>

#include "core/error.h"

namespace cubist {

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
}

// A PNG chunk: length, type, data and the CRC-32 of type and data.
std::string chunk(const std::string& type, const std::string& data) {
  std::string c;
  put_u32(c, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  c += body;
  const AVCRC* table = av_crc_get_table(AV_CRC_32_IEEE_LE);
  const uint32_t crc =
      av_crc(table, UINT32_MAX, reinterpret_cast<const uint8_t*>(body.data()), body.size()) ^
      UINT32_MAX;
  put_u32(c, crc);
  return c;
}

void append_escape(std::string& out, uint32_t unit) {
  char e[12];
  std::snprintf(e, sizeof e, "\\u%04x", unit);
  out += e;
}

}  // namespace

std::string png_latin1(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size();
    uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
    for (size_t k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      ok = (c >> 6) == 2;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    if (cp <= 0xff) {
      out += static_cast<char>(cp);
    } else if (cp <= 0xffff) {
      append_escape(out, cp);
    } else {  // a surrogate pair, as JSON writes one
      append_escape(out, 0xd800 + ((cp - 0x10000) >> 10));
      append_escape(out, 0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
    i += n;
  }
  return out;
}

std::string with_png_text(std::string png, const std::map<std::string, std::string>& metadata,
                          const std::string& what) {
  constexpr size_t kHeaderEnd = 8 + 25;  // the signature, then IHDR (length, type, 13, CRC)
  CUBIST_CHECK(
      png.size() > kHeaderEnd && png.compare(1, 3, "PNG") == 0 && png.compare(12, 4, "IHDR") == 0,
      what, ": not a PNG file, so no text can be added");
  std::string chunks;
  for (const auto& [key, value] : metadata) {
    CUBIST_CHECK(!key.empty() && key.size() <= 79, what, ": a PNG text key has 1 to 79 ",
                 "characters, not \"", key, "\"");
    chunks += chunk("tEXt", png_latin1(key) + '\0' + png_latin1(value));
  }
  png.insert(kHeaderEnd, chunks);
  return png;
}

}  // namespace cubist
