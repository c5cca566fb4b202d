#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace cubist {

float LrSchedule::at(int64_t step) const {
  if (step < warmup) return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  const int64_t last = steps - 1;
  if (last <= warmup) return lr;  // no steps to decay over
  const double span = static_cast<double>(last - warmup);
  const double p = std::min(1.0, static_cast<double>(step - warmup) / span);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  return static_cast<float>(lr * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine));
}

}  // namespace cubist
