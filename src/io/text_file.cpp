#include "io/text_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace cubist {

void write_text_file(const std::string& path, std::string_view text) {
  // The process id keeps two processes writing the same path from sharing a temporary file.
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      fail(path, ": writing failed (", tmp, ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, ": cannot move the finished file into place");
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CUBIST_CHECK(in.good(), path, ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  CUBIST_CHECK(!in.bad(), path, ": reading failed");
  return s.str();
}

}  // namespace cubist
