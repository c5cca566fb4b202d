#include "io/output_folder.h"

#include <exception>
#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace fs = std::filesystem;

namespace cubist {

namespace {

// True when the folder holds no files at any depth (only empty folders, such as a cache's).
bool holds_no_files(const fs::path& p) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec))
    if (!it->is_directory(ec)) return false;
  return !ec;
}

}  // namespace

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

void check_output_place(const std::string& path, bool folder) {
  const fs::path target(without_trailing_slashes(path));
  std::error_code ec;
  if (fs::exists(target, ec) && fs::is_directory(target, ec) != folder)
    fail(path, ": exists and is ", folder ? "a file" : "a folder", "; not replacing it");
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    fail(path, ": the folder ", parent.string(),
         " does not exist; make it first or write elsewhere");
}

OutputFolder::OutputFolder(const std::string& path) : exceptions_(std::uncaught_exceptions()) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "out/" names the folder "out"
  for (fs::path q = p; !fs::exists(q); q = q.parent_path()) top_made_ = q.string();  // "/" exists
  fs::create_directories(p);
}

OutputFolder::~OutputFolder() {
  if (top_made_.empty() || std::uncaught_exceptions() <= exceptions_) return;
  std::error_code ec;  // a failure to tidy up must not hide the run's own error
  const fs::path top(top_made_);
  if (holds_no_files(top)) fs::remove_all(top, ec);
}

}  // namespace cubist
