// A run's output folder. Runs make their folder before they read their data (a latent cache is
// written into it); should a run then fail before writing anything there, the folders it made
// go again, so a bad config or a missing manifest leaves no empty folder behind. A folder that
// holds anything, made by this run or there before, is never touched.
#pragma once

#include <string>

namespace cubist {

// `path` without the slashes that end it ("out/" -> "out"; "/" stays): the name of the folder a
// path written as a folder names.
std::string without_trailing_slashes(std::string path);

// An Error, before the work that makes it, unless the folder that `path` (a file, or with
// `folder` a folder) would be written in exists and takes new files, and `path` is not already
// a thing of the other kind (a folder where a file goes, or a file where a folder goes), which
// is never replaced.
void check_output_place(const std::string& path, bool folder = false);

// An Error unless `path` ends in `extension` (".safetensors", any case): a file named as what it
// is not (latents as out.mp4) is taken for that by every tool that opens it. `what` names the
// file for the message ("a latent").
void check_output_extension(const std::string& path, const std::string& extension,
                            const std::string& what);

// Makes the folder `path` and any missing parents, or an Error that says why not (a file in the
// way, no permission, a read-only place); also an Error when the folder takes no new files.
void make_output_folder(const std::string& path);

class OutputFolder {
 public:
  explicit OutputFolder(const std::string& path);  // makes the folder and any missing parents
  ~OutputFolder();  // when an exception ends the run: removes what it made if it holds no files
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

 private:
  std::string top_made_;  // the highest folder this made ("" if it was there)
  int exceptions_ = 0;    // in flight when made: more on destruction means failure
};

}  // namespace cubist
