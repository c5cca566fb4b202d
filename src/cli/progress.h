// A progress bar for long jobs on standard error: done/total, rate, time left, and whatever the
// job reports (loss, throughput). On a terminal it redraws one line; otherwise (a log file, CI)
// it prints a plain line every 5% so that logs stay readable. CUBIST_PROGRESS=json prints a
// JSON object a line instead, at most 10 a second, for programs that drive cubist:
//   {"progress": "generate", "done": 3, "total": 60, "unit": "step", "rate": 0.28,
//    "elapsed_s": 10.7, "left_s": 203.6, "info": "", "final": false}
// (CUBIST_PROGRESS=lines or bar chooses either of the others.)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cubist::cli {

class Progress {
 public:
  // One line redrawn, a plain line every 5%, or a JSON object a line ($CUBIST_PROGRESS).
  enum class Style { kBar, kLines, kJson };
  Progress(std::string label, int64_t total, std::string unit = "it");
  void update(int64_t done, const std::string& info = "");
  void finish(const std::string& info = "");  // the final line, once; later calls do nothing

 private:
  void draw(int64_t done, const std::string& info, bool final_line);
  std::string label_, unit_;
  int64_t total_;
  Style style_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t start_done_ = -1;
  int last_percent_ = -1;
  bool finished_ = false;
};

std::string format_duration(double seconds);  // "1:02:03" or "02:03"

}  // namespace cubist::cli

namespace cubist {
struct CacheProgress;
}

namespace cubist::cli {

// The bar of a latent cache (data/latent_cache.h): over frames when the manifest lists them
// all, so that a long video cut into clips shows its progress, else over videos. A new bar
// starts with each cache (the report before its first video).
class CacheBar {
 public:
  explicit CacheBar(std::string label) : label_(std::move(label)) {}
  void report(const CacheProgress& p);
  void finish();  // when one was started

 private:
  std::string label_;
  std::unique_ptr<Progress> bar_;
};

}  // namespace cubist::cli
