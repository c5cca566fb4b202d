// Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011). Element i of a fill draws
// from counter (offset + i) under the generator's key, so the numbers depend only on the seed and
// on how many numbers were drawn before, never on the thread count.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace cubist {

std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo);

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  void normal_(Tensor& t, float mean = 0.0f, float std = 1.0f);
  void uniform_(Tensor& t, float lo = 0.0f, float hi = 1.0f);
  float uniform();  // one number in [0, 1)
  float normal();   // one standard normal number
  uint64_t next_u64();
  uint64_t randint(uint64_t n);  // uniform in [0, n)

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }  // for checkpoints: resumes the same sequence
  // A generator of its own for item `index` of this one's work (a clip of a batch, a step of a
  // run): its numbers depend on (seed, stream, index) alone, not on what was drawn before, so
  // work split over processes draws as it would in one.
  Generator substream(uint64_t index) const;

 private:
  uint64_t seed_, stream_, offset_ = 0;
};

// Maps 32 random bits to a float in [0, 1) with 24 bits of precision.
inline float u32_to_unit(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

}  // namespace cubist
