#include "models/model_files.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace cubist {

namespace fs = std::filesystem;

std::vector<std::string> default_model_dirs() {
  if (const char* env = std::getenv(kModelDirEnv); env && *env) return {env};
  std::vector<std::string> dirs = {kBundledModelDir};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back((exe.parent_path() / ".." / kBundledModelDir).lexically_normal().string());
    dirs.push_back((exe.parent_path() / kBundledModelDir).lexically_normal().string());
  }
  return dirs;
}

std::string find_model_file(const std::string& file, const std::string& dir,
                            const std::string& how_to_get) {
  const std::vector<std::string> dirs = dir.empty() ? default_model_dirs() : std::vector{dir};
  std::string where;
  for (const std::string& d : dirs) {
    const fs::path p = fs::path(d) / file;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    where += "\n  " + p.string();
  }
  const bool from_env = dir.empty() && std::getenv(kModelDirEnv) && *std::getenv(kModelDirEnv);
  fail("no ", file, " found; looked at:", where,
       dir.empty() ? (from_env ? std::string("\n(the folder comes from $") + kModelDirEnv + ")"
                               : std::string("\n(the default model folders; $") + kModelDirEnv +
                                     " names another)")
                   : std::string(),
       "\n", how_to_get);
}

}  // namespace cubist
