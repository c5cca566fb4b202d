#include "io/sha256.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

extern "C" {
#include <libavutil/mem.h>
#include <libavutil/sha.h>
}

#include "core/error.h"

namespace cubist {

namespace {

class Sha256 {
 public:
  Sha256() : ctx_(av_sha_alloc(), &av_free) {
    CUBIST_CHECK(ctx_ && av_sha_init(ctx_.get(), 256) == 0, "sha256: cannot set up the digest");
  }
  void update(const void* data, size_t n) {
    av_sha_update(ctx_.get(), static_cast<const uint8_t*>(data), n);
  }
  std::string hex() {
    uint8_t digest[32];
    av_sha_final(ctx_.get(), digest);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (uint8_t b : digest) out += {kHex[b >> 4], kHex[b & 15]};
    return out;
  }

 private:
  std::unique_ptr<AVSHA, void (*)(void*)> ctx_;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  CUBIST_CHECK(f != nullptr, path, ": cannot open the file to hash it");
  Sha256 h;
  std::vector<char> buf(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), n);
  CUBIST_CHECK(!std::ferror(f.get()), path, ": reading the file to hash it failed");
  return h.hex();
}

}  // namespace cubist
