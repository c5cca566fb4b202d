#include "io/output_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/ffmpeg_util.h"

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

// An Error unless a file can be made in `folder`: one is made and removed again, the only sure
// test (permission bits do not tell of /proc, a read-only mount, or what root may not do).
void check_writable(const std::string& path, const fs::path& folder) {
  const fs::path probe = folder / (".cubist_write_test_" + std::to_string(getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) return;  // a file can be there, so files can
  if (fd < 0)
    fail(path, ": cannot write in the folder ", folder.string(), " (", std::strerror(errno),
         "); write elsewhere");
  ::close(fd);
  ::unlink(probe.c_str());
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
  check_writable(path, parent);
}

void check_output_extension(const std::string& path, const std::string& extension,
                            const std::string& what) {
  if (ffmpeg::extension(path) != extension)
    fail(path, ": ", what, " is written as a ", extension, " file; name it ",
         fs::path(path).replace_extension(extension).string());
}

void make_output_folder(const std::string& path) {
  const fs::path p(without_trailing_slashes(path));
  std::error_code ec;
  if (fs::exists(p, ec) && !fs::is_directory(p, ec))
    fail(path, ": exists and is a file, where a folder is written; give a folder");
  fs::create_directories(p, ec);
  if (ec) fail(path, ": cannot make the folder (", ec.message(), "); write elsewhere");
  check_writable(path, p);
}

OutputFolder::OutputFolder(const std::string& path) : exceptions_(std::uncaught_exceptions()) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "out/" names the folder "out"
  for (fs::path q = p; !fs::exists(q); q = q.parent_path()) top_made_ = q.string();  // "/" exists
  make_output_folder(path);
}

OutputFolder::~OutputFolder() {
  if (top_made_.empty() || std::uncaught_exceptions() <= exceptions_) return;
  std::error_code ec;  // a failure to tidy up must not hide the run's own error
  const fs::path top(top_made_);
  if (holds_no_files(top)) fs::remove_all(top, ec);
}

}  // namespace cubist
