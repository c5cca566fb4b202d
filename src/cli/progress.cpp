#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "data/latent_cache.h"

namespace cubist::cli {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--:--";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

namespace {

// $CUBIST_PROGRESS: "json" (a JSON object a line, for programs that drive cubist), "lines" (a
// plain line every 5%), "bar" (one line redrawn); unset or other: a bar on a terminal, else
// lines.
Progress::Style progress_style() {
  const char* v = std::getenv("CUBIST_PROGRESS");
  const std::string asked = v ? v : "";
  if (asked == "json") return Progress::Style::kJson;
  if (asked == "lines") return Progress::Style::kLines;
  if (!asked.empty() && asked != "bar") {
    static bool told = false;  // once a process, not once a bar
    if (!told)
      std::fprintf(stderr, "cubist: CUBIST_PROGRESS=%s is not json, lines or bar; ignoring it\n",
                   asked.c_str());
    told = true;
  }
  if (asked == "bar" || isatty(STDERR_FILENO)) return Progress::Style::kBar;
  return Progress::Style::kLines;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      style_(progress_style()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, const std::string& info) {
  if (finished_) return;
  if (start_done_ < 0) start_done_ = done > 0 ? done - 1 : 0;  // resumed jobs start mid-way
  const auto now = std::chrono::steady_clock::now();
  if (style_ != Style::kLines) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  } else {
    const int percent = total_ > 0 ? static_cast<int>(100 * done / total_) : 0;
    if (percent / 5 == last_percent_ / 5 && done < total_) return;
    last_percent_ = percent;
  }
  last_draw_ = now;
  draw(done, info, false);
}

void Progress::finish(const std::string& info) {
  if (finished_) return;
  finished_ = true;
  draw(total_, info, true);
}

void Progress::draw(int64_t done, const std::string& info, bool final_line) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // A rate over the first moments of a job is noise (one unit in microseconds): unknown (0)
  // until a quarter of a second has passed, or the job has finished more than the one unit it
  // counts at its first report (a cache whose videos were all there showed 351992 frame/s).
  const int64_t worked = done - std::max<int64_t>(start_done_, 0);
  const bool timed = elapsed >= 0.25 || (final_line && worked > 1);
  const double rate = timed && elapsed > 0 ? static_cast<double>(worked) / elapsed : 0;
  const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : -1;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  if (style_ == Style::kJson) {
    nlohmann::ordered_json j;
    j["progress"] = label_;
    j["done"] = done;
    j["total"] = total_;
    j["unit"] = unit_;
    j["rate"] = rate;
    j["elapsed_s"] = elapsed;
    j["left_s"] = final_line ? 0.0 : left;  // -1 while unknown
    const size_t from = info.find_first_not_of(' ');
    j["info"] = from == std::string::npos ? "" : info.substr(from);
    j["final"] = final_line;
    std::fprintf(stderr, "%s\n", j.dump().c_str());
    std::fflush(stderr);
    return;
  }
  const bool redrawn = style_ == Style::kBar;
  const std::string when =
      final_line ? "done in " + format_duration(elapsed) : format_duration(left) + " left";
  char speed[32] = "--";
  if (rate > 0) std::snprintf(speed, sizeof speed, "%.2f", rate);
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %s %s/s %s %s%s", redrawn ? "\r\033[K" : "",
               label_.c_str(), bar.c_str(), static_cast<long long>(done),
               static_cast<long long>(total_), speed, unit_.c_str(), when.c_str(), info.c_str(),
               (redrawn && !final_line) ? "" : "\n");
  std::fflush(stderr);
}

void CacheBar::report(const CacheProgress& p) {
  const bool by_frames = p.frames_total > 0;
  if (!bar_ || p.path.empty())
    bar_ = std::make_unique<Progress>(label_, by_frames ? p.frames_total : p.total,
                                      by_frames ? "frame" : "video");
  bar_->update(by_frames ? p.frames : p.done);
}

void CacheBar::finish() {
  if (bar_) bar_->finish();
}

}  // namespace cubist::cli
