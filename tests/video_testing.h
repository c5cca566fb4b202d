// Helpers for the video and data tests: a fixture with a private temporary folder, synthetic
// videos, PSNR, Error-message checks, and the ffmpeg command (only to make odd inputs).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/video.h"

namespace cubist::testing {

// Each test gets an empty folder of its own, removed afterwards.
class VideoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("cubist_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string dir() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
};

// Smooth moving colour waves: the content lossy codecs handle well.
inline Video smooth_video(int64_t t, int64_t h, int64_t w, double fps) {
  Video v(t, h, w, fps);
  for (int64_t f = 0; f < t; ++f)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        uint8_t* p = v.pixel(f, y, x);
        p[0] = uint8_t(128 + 90 * std::sin(0.11 * x + 0.3 * f));
        p[1] = uint8_t(128 + 90 * std::cos(0.13 * y - 0.2 * f));
        p[2] = uint8_t(128 + 60 * std::sin(0.07 * (x + y) + 0.1 * f));
      }
  return v;
}

// Peak signal-to-noise ratio over all frames, in dB (infinity when equal).
inline double psnr(const Video& a, const Video& b) {
  EXPECT_EQ(a.rgb.size(), b.rgb.size());
  if (a.rgb.size() != b.rgb.size()) return 0.0;
  double se = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double d = double(a.rgb[i]) - double(b.rgb[i]);
    se += d * d;
  }
  if (se == 0) return INFINITY;
  return 10 * std::log10(255.0 * 255.0 / (se / double(a.rgb.size())));
}

// Expects fn to throw cubist::Error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no Error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "Error '" << msg << "' lacks '" << p << "'";
  }
}

inline bool have_ffmpeg_cli() { return std::system("ffmpeg -version >/dev/null 2>&1") == 0; }

// Runs `ffmpeg -y -loglevel error ARGS`; true on success.
inline bool ffmpeg_cli(const std::string& args) {
  return std::system(("ffmpeg -nostdin -y -loglevel error " + args).c_str()) == 0;
}

}  // namespace cubist::testing
