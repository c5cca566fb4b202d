// A CSV log of training metrics, one row per step, that a person can plot (and that the
// progress bar and loss-curve plot read from). Appends when resuming a run.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace cubist {

class MetricsLog {
 public:
  // Opens `path`; a new file gets the header line, an existing one is appended to after
  // dropping rows with step >= from_step (steps that a resumed run will redo).
  MetricsLog(const std::string& path, std::vector<std::string> columns, int64_t from_step = 0);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const std::vector<double>& values);  // one value per column; flushed at once
  // Reads column `name` of a log back (for plots).
  static std::vector<double> read_column(const std::string& path, const std::string& name);

 private:
  std::FILE* f_ = nullptr;
  std::vector<std::string> columns_;
};

}  // namespace cubist
