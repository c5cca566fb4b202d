// The learning-rate schedule shared by the trainers: warm-up, then a cosine to the floor.
#include <cmath>

#include <gtest/gtest.h>

#include "train/lr_schedule.h"

namespace cubist {

TEST(LrSchedule, WarmsUpLinearlyThenFollowsACosineToTheFloor) {
  const LrSchedule s{.lr = 1.0f, .warmup = 4, .steps = 105, .min_lr_ratio = 0.1f};
  EXPECT_FLOAT_EQ(s.at(0), 0.25f);
  EXPECT_FLOAT_EQ(s.at(1), 0.5f);
  EXPECT_FLOAT_EQ(s.at(3), 1.0f);
  EXPECT_FLOAT_EQ(s.at(4), 1.0f);    // the peak, where the decay starts
  EXPECT_FLOAT_EQ(s.at(54), 0.55f);  // half way: the midpoint of lr and the floor
  EXPECT_NEAR(s.at(29), 0.1f + 0.9f * 0.5f * (1.0f + std::cos(3.14159265f / 4)), 1e-6f);
  EXPECT_FLOAT_EQ(s.at(104), 0.1f);  // the floor at the last step (105 steps: 0..104)
  EXPECT_FLOAT_EQ(s.at(500), 0.1f);  // and after it (a run resumed with fewer steps)
  for (int64_t i = 5; i <= 104; ++i) EXPECT_LT(s.at(i), s.at(i - 1)) << "step " << i;
}

TEST(LrSchedule, AFloorOfOneOrNoDecaySpanKeepsTheRateConstant) {
  const LrSchedule constant{.lr = 2e-4f, .warmup = 10, .steps = 1000, .min_lr_ratio = 1.0f};
  const LrSchedule no_span{.lr = 2e-4f, .warmup = 10, .steps = 0, .min_lr_ratio = 0.0f};
  for (int64_t i : {10, 11, 500, 999, 1000, 5000}) {
    EXPECT_FLOAT_EQ(constant.at(i), 2e-4f) << "step " << i;
    EXPECT_FLOAT_EQ(no_span.at(i), 2e-4f) << "step " << i;
  }
}

}  // namespace cubist
