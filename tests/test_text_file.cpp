// Tests of io/text_file.h: a text file is written whole, or the path keeps what it had.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/text_file.h"
#include "testing.h"
#include "video_testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using TextFileTest = testing::VideoTest;

// The names in a folder: a temporary file left behind would show here.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST_F(TextFileTest, ReplacesAFileWholeAndLeavesNothingBeside) {
  const std::string p = path("config.json");
  write_text_file(p, "first\n");
  EXPECT_EQ(testing::file_bytes(p), "first\n");
  const std::string bytes("second\0with a nul\n", 18);  // written as given, not as a C string
  write_text_file(p, bytes);
  EXPECT_EQ(testing::file_bytes(p), bytes);
  EXPECT_EQ(names_in(dir()), std::vector<std::string>{"config.json"});
  EXPECT_EQ(read_text_file(p), bytes);  // read back byte for byte
  testing::expect_error([&] { read_text_file(path("missing.json")); }, "", path("missing.json"));
}

TEST_F(TextFileTest, AFailedWriteNamesThePathAndKeepsWhatWasThere) {
  testing::expect_error([&] { write_text_file(path("missing/config.json"), "x"); }, "",
                        path("missing/config.json"));
  EXPECT_TRUE(names_in(dir()).empty());
  // A folder where the file belongs: the text is written, but cannot replace it.
  fs::create_directories(path("taken"));
  fs::create_directories(path("taken/inside"));
  testing::expect_error([&] { write_text_file(path("taken"), "x"); }, "", path("taken"));
  EXPECT_TRUE(fs::is_directory(path("taken/inside")));
  EXPECT_EQ(names_in(dir()), std::vector<std::string>{"taken"});
}

}  // namespace
}  // namespace cubist
