// Tests of io/output_folder.h: a failed run takes away only the empty folders it made.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "io/output_folder.h"
#include "video_testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using OutputFolderTest = testing::VideoTest;

// A run that makes `folder`, lets `work` act in it, then fails.
void failing_run(
    const std::string& folder, const std::function<void()>& work = [] {}) {
  try {
    const OutputFolder f(folder);
    EXPECT_TRUE(fs::is_directory(folder));
    work();
    throw std::runtime_error("the run failed");
  } catch (const std::runtime_error&) {
  }
}

TEST_F(OutputFolderTest, AnOutputPlaceNeedsItsFolderAndReplacesNothingOfAnotherKind) {
  EXPECT_NO_THROW(check_output_place(path("latent.safetensors")));
  EXPECT_NO_THROW(check_output_place(path("frames/"), true));
  testing::expect_error([&] { check_output_place(path("none/latent.safetensors")); },
                        {"none/latent.safetensors", "does not exist; make it first"});
  fs::create_directories(path("d"));
  testing::expect_error([&] { check_output_place(path("d")); }, {"d", "exists and is a folder"});
  std::ofstream(path("f")) << "x";
  testing::expect_error([&] { check_output_place(path("f/"), true); }, {"f/", "is a file"});
  EXPECT_NO_THROW(check_output_place(path("f")));  // a file is replaced as a whole
  // A folder that takes no files (even root cannot make one in /proc) is named before the work.
  testing::expect_error([&] { check_output_place("/proc/x.mp4"); },
                        {"/proc/x.mp4", "cannot write in the folder /proc"});
  for (const auto& e : fs::directory_iterator(dir()))  // the test file made is gone again
    EXPECT_EQ(e.path().filename().string().find("cubist_write_test"), std::string::npos);
}

TEST_F(OutputFolderTest, AnOutputIsNamedAsWhatItIs) {
  EXPECT_NO_THROW(check_output_extension("out/z.safetensors", ".safetensors", "a latent"));
  EXPECT_NO_THROW(check_output_extension("Z.SafeTensors", ".safetensors", "a latent"));
  testing::expect_error([] { check_output_extension("out/z.mp4", ".safetensors", "a latent"); },
                        {"out/z.mp4: a latent is written as a .safetensors file; name it "
                         "out/z.safetensors"});
  testing::expect_error([] { check_output_extension("m", ".jsonl", "a manifest"); },
                        {"m: a manifest", "name it m.jsonl"});
}

TEST_F(OutputFolderTest, MakingAFolderSaysWhyItCannot) {
  make_output_folder(path("a/b/c/"));
  EXPECT_TRUE(fs::is_directory(path("a/b/c")));
  make_output_folder(path("a/b/c"));  // there already: nothing to do
  std::ofstream(path("file")) << "x";
  testing::expect_error([&] { make_output_folder(path("file")); },
                        {"file", "exists and is a file, where a folder is written"});
  testing::expect_error([&] { make_output_folder(path("file/run")); },
                        {"file/run", "cannot make the folder"});
  testing::expect_error([&] { make_output_folder("/proc/run"); },
                        {"/proc/run", "cannot make the folder"});
  testing::expect_error([&] { OutputFolder f(path("file")); }, {"file", "exists and is a file"});
}

TEST_F(OutputFolderTest, KeepsTheFolderOfARunThatDidNotFail) {
  { const OutputFolder f(path("a/b")); }
  EXPECT_TRUE(fs::is_directory(path("a/b")));
}

TEST_F(OutputFolderTest, AFailedRunTakesAwayTheEmptyFoldersItMade) {
  failing_run(path("a/b/c/"), [&] { fs::create_directories(path("a/b/c/cache/latents")); });
  EXPECT_FALSE(fs::exists(path("a")));
  EXPECT_TRUE(fs::is_directory(dir()));  // the folder above, there before, stays

  fs::create_directories(path("x"));
  failing_run(path("x/y/z"));
  EXPECT_TRUE(fs::is_directory(path("x")));
  EXPECT_FALSE(fs::exists(path("x/y")));
}

TEST_F(OutputFolderTest, NeverTouchesAFolderThatWasThereOrHoldsAFile) {
  fs::create_directories(path("old"));
  failing_run(path("old"));
  EXPECT_TRUE(fs::is_directory(path("old")));

  failing_run(path("new/run"), [&] {
    fs::create_directories(path("new/run/cache"));
    std::ofstream(path("new/run/cache/log.csv")) << "step,loss\n";
  });
  EXPECT_TRUE(fs::exists(path("new/run/cache/log.csv")));
}

}  // namespace
}  // namespace cubist
