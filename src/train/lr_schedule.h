// The learning-rate schedule of both trainers: a linear warm-up to the peak rate, then a cosine
// decay to a floor at the last step. A floor ratio of 1 keeps the rate constant after warm-up.
#pragma once

#include <cstdint>

namespace cubist {

struct LrSchedule {
  float lr = 1e-4f;           // the peak rate, reached at the end of warm-up
  int64_t warmup = 0;         // steps of linear warm-up
  int64_t steps = 0;          // the run's length: the floor is reached at its last step, steps - 1
  float min_lr_ratio = 1.0f;  // the rate at the last step is lr * min_lr_ratio

  float at(int64_t step) const;  // the rate of step `step` (0-based)
};

}  // namespace cubist
