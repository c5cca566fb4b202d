// Tests of the training runs' CSV logs (train/metrics_log.h): what a resumed run keeps, a row
// that a kill cut short, and a log a person edited.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/metrics_log.h"
#include "video_testing.h"

namespace cubist {
namespace {

using MetricsLogTest = testing::VideoTest;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST_F(MetricsLogTest, AResumedRunKeepsTheStepsBeforeItsCheckpoint) {
  const std::string log = path("log.csv");
  {
    MetricsLog first(log, {"step", "loss"});
    for (int s = 1; s <= 5; ++s) first.write({double(s), 0.25 * s});
  }
  {
    MetricsLog resumed(log, {"step", "loss"}, 4);  // steps 4 and 5 are redone
    resumed.write({4, 0.3});
  }
  EXPECT_EQ(MetricsLog::read_column(log, "step"), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(MetricsLog::read_column(log, "loss"), (std::vector<double>{0.25, 0.5, 0.75, 0.3}));
  EXPECT_THROW(MetricsLog::read_column(log, "lr"), Error);
}

// A kill during a write leaves part of a row ("12" of "1234,..."): it is not a step 12 to keep.
TEST_F(MetricsLogTest, ARowCutShortByAKillIsDropped) {
  const std::string log = path("log.csv");
  write_file(log, "step,loss\n1,0.5\n2,0.25\n12");
  EXPECT_EQ(MetricsLog::read_column(log, "step"), (std::vector<double>{1, 2}));
  { MetricsLog resumed(log, {"step", "loss"}, 100); }
  EXPECT_EQ(read_file(log), "step,loss\n1,0.5\n2,0.25\n");
}

TEST_F(MetricsLogTest, NotANumberAndInfinityAreRows) {
  const std::string log = path("log.csv");
  { MetricsLog(log, {"step", "loss"}).write({1, std::nan("")}); }
  { MetricsLog(log, {"step", "loss"}, 10).write({2, INFINITY}); }
  const std::vector<double> loss = MetricsLog::read_column(log, "loss");
  ASSERT_EQ(loss.size(), 2u);
  EXPECT_TRUE(std::isnan(loss[0]));
  EXPECT_EQ(loss[1], INFINITY);
}

// A broken row before the last is not a cut-off write: refused by line, and the log kept whole.
TEST_F(MetricsLogTest, AnEditedLogIsRefusedAndKept) {
  const std::string log = path("log.csv");
  const std::string text = "step,loss\n1,0.5\n2,oops\n3,0.125\n";
  write_file(log, text);
  try {
    MetricsLog resumed(log, {"step", "loss"}, 3);
    FAIL() << "an edited log was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3 (2,oops) is not 2 numbers"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_file(log), text);
  EXPECT_THROW(MetricsLog::read_column(log, "loss"), Error);
  write_file(log, "step,lr\n1,0.5\n");
  EXPECT_THROW(MetricsLog(log, {"step", "loss"}), Error);
  EXPECT_EQ(read_file(log), "step,lr\n1,0.5\n");
}

}  // namespace
}  // namespace cubist
