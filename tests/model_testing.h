// Helpers for the tests of training runs and generation: a fixture with a private folder that
// runs on one thread (the tiny models gain nothing from threads, and results must be bitwise
// repeatable), and tiny models written to files (configs/vae/tiny.json and configs/dit/tiny.json
// shapes, random weights).
#pragma once

#include <string>

#include "core/parallel.h"
#include "core/rng.h"
#include "models/dit/config.h"
#include "models/vae/vae.h"
#include "video_testing.h"

namespace cubist::testing {

class TinyModelTest : public VideoTest {
 protected:
  void SetUp() override {
    VideoTest::SetUp();
    threads_ = num_threads();
    set_num_threads(1);
  }
  void TearDown() override {
    set_num_threads(threads_);
    VideoTest::TearDown();
  }

 private:
  int threads_ = 1;
};

inline VaeConfig tiny_vae_config() {
  return VaeConfig::from_file(std::string(CUBIST_SOURCE_DIR) + "/configs/vae/tiny.json");
}

inline DiTConfig tiny_dit_config() {
  return load_dit_config(std::string(CUBIST_SOURCE_DIR) + "/configs/dit/tiny.json");
}

// A tiny autoencoder (4 latent channels, 4x in time and space) with random weights.
inline void write_tiny_vae(const std::string& path, uint64_t seed = 1) {
  Generator gen(seed);
  save_vae(path, Vae(tiny_vae_config(), gen));
}

}  // namespace cubist::testing
