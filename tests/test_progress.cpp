// Tests of cli/progress.h: what the bar prints, as a log (CUBIST_PROGRESS=lines) shows it.
#include "cli/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

namespace cubist::cli {
namespace {

// What `f` prints on standard error with CUBIST_PROGRESS set to `style`.
template <class F>
std::string printed(const char* style, F f) {
  setenv("CUBIST_PROGRESS", style, 1);
  ::testing::internal::CaptureStderr();
  f();
  std::string out = ::testing::internal::GetCapturedStderr();
  unsetenv("CUBIST_PROGRESS");
  return out;
}

// The first report of a job comes microseconds after the bar is made: a rate from it was
// absurd (one step in 0.1 ms: 10000 step/s), so the rate waits for a quarter of a second.
TEST(Progress, SaysNoRateBeforeItCanKnowOne) {
  const std::string early = printed("lines", [] {
    Progress bar("job", 2, "step");
    bar.update(1);
  });
  EXPECT_NE(early.find("job [############............] 1/2 -- step/s --:-- left"),
            std::string::npos)
      << early;
  const std::string later = printed("lines", [] {
    Progress bar("job", 4, "step");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bar.update(1);
  });
  EXPECT_TRUE(std::regex_search(later, std::regex(R"(1/4 [0-9]+\.[0-9]{2} step/s 00:0[0-9] left)")))
      << later;  // 3 more at about 3 a second
}

// A job whose work was all done before (a cache run again) reports its total at once: no rate
// on its final line, where a job that worked gives its rate there however short it was.
TEST(Progress, GivesNoRateForWorkItSkipped) {
  const std::string skipped = printed("lines", [] {
    Progress bar("cache", 320, "frame");
    bar.update(320);
    bar.finish();
  });
  EXPECT_NE(skipped.find("320/320 -- frame/s done in"), std::string::npos) << skipped;
  const std::string worked = printed("lines", [] {
    Progress bar("encode", 9, "frame");
    for (int i = 1; i <= 9; ++i) bar.update(i);
    bar.finish();
  });
  EXPECT_TRUE(std::regex_search(worked, std::regex(R"(9/9 [0-9]+\.[0-9]{2} frame/s done in)")))
      << worked;
}

TEST(Progress, NamesAStyleItDoesNotKnowOnce) {
  const std::string out = printed("bogus", [] { Progress a("a", 1), b("b", 1); });
  const std::string told = "CUBIST_PROGRESS=bogus is not json, lines or bar; ignoring it";
  ASSERT_NE(out.find(told), std::string::npos) << out;
  EXPECT_EQ(out.find(told, out.find(told) + 1), std::string::npos) << "told twice: " << out;
}

}  // namespace
}  // namespace cubist::cli
