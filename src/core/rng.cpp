#include "core/rng.h"

#include <cmath>

#include "core/parallel.h"

namespace cubist {

std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

namespace {
// Box-Muller on the first two words of a block.
inline float box_muller(const std::array<uint32_t, 4>& r) {
  const float u1 = (static_cast<float>(r[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
  const float u2 = u32_to_unit(r[1]);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
}

template <typename F>
void fill(Tensor& t, uint64_t seed, uint64_t stream, uint64_t offset, F draw) {
  Tensor out = t.is_contiguous() && t.dtype() == DType::F32 ? t : Tensor::empty(t.shape());
  float* p = out.data<float>();
  parallel_for(out.numel(), 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      p[i] = draw(philox4x32(seed, stream, offset + static_cast<uint64_t>(i)));
  });
  if (!out.shares_storage(t)) t.copy_(out);
}
}  // namespace

void Generator::normal_(Tensor& t, float mean, float std) {
  fill(t, seed_, stream_, offset_,
       [&](const std::array<uint32_t, 4>& r) { return mean + std * box_muller(r); });
  offset_ += static_cast<uint64_t>(t.numel());
}

void Generator::uniform_(Tensor& t, float lo, float hi) {
  fill(t, seed_, stream_, offset_,
       [&](const std::array<uint32_t, 4>& r) { return lo + (hi - lo) * u32_to_unit(r[0]); });
  offset_ += static_cast<uint64_t>(t.numel());
}

uint64_t Generator::next_u64() {
  const auto r = philox4x32(seed_, stream_, offset_++);
  return (static_cast<uint64_t>(r[0]) << 32) | r[1];
}

float Generator::uniform() { return u32_to_unit(philox4x32(seed_, stream_, offset_++)[0]); }

float Generator::normal() { return box_muller(philox4x32(seed_, stream_, offset_++)); }

Generator Generator::substream(uint64_t index) const {
  // splitmix64's finalizer spreads (stream, index) over the 64-bit stream space, where the
  // streams that callers name (small constants, shifted epochs) are unlikely to be hit.
  uint64_t z = stream_ ^ (0x9E3779B97F4A7C15ull * (index + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return Generator(seed_, z ^ (z >> 31));
}

uint64_t Generator::randint(uint64_t n) {
  CUBIST_CHECK(n > 0, "randint: the range must not be empty");
  return next_u64() % n;
}

}  // namespace cubist
