// Tensor views, the caching allocator, the counter-based RNG and bf16 conversion.
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/strings.h"
#include "core/tensor.h"
#include "testing.h"

namespace cubist {
namespace {

Tensor iota(const Dims& shape) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_vector(shape, v);
}

TEST(Tensor, ViewsShareStorageAndIndexCorrectly) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});  // [4, 2, 3]
  EXPECT_TRUE(p.shares_storage(t));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_EQ(p.shape(), Dims({4, 2, 3}));
  const std::vector<float> v = p.to_vector();
  // p[k, i, j] = t[i, j, k] = 12 i + 4 j + k
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(v[k * 6 + i * 3 + j], 12 * i + 4 * j + k);
  Tensor s = t.slice(2, 1, 3);  // [2, 3, 2]
  EXPECT_TRUE(s.shares_storage(t));
  EXPECT_EQ(s.to_vector()[0], 1.0f);
  EXPECT_EQ(s.to_vector()[11], 22.0f);  // t[1, 2, 2]
  Tensor r = t.reshape({6, -1});
  EXPECT_TRUE(r.shares_storage(t));
  EXPECT_EQ(r.shape(), Dims({6, 4}));
  Tensor rc = p.reshape({-1});  // not viewable: copies
  EXPECT_FALSE(rc.shares_storage(t));
  EXPECT_EQ(rc.to_vector(), v);
  EXPECT_EQ(t.select(1, 2).to_vector(), (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
}

TEST(Tensor, BadShapesAreClearErrors) {
  Tensor t = iota({2, 3});
  EXPECT_THROW(t.reshape({4, 2}), Error);
  EXPECT_THROW(t.permute({0, 0}), Error);
  EXPECT_THROW(t.slice(1, 2, 5), Error);
  EXPECT_THROW(t.transpose(0, 1).view({6}), Error);
  EXPECT_THROW(t.data<uint16_t>(), Error);
  try {
    t.reshape({4, 2});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(Tensor, Bf16RoundTripAndRounding) {
  Tensor t = testing::randn({1000}, 3);
  Tensor b = t.to(DType::BF16);
  EXPECT_EQ(b.dtype(), DType::BF16);
  const std::vector<float> x = t.to_vector(), y = b.to_vector();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], std::fabs(x[i]) / 256.0f + 1e-30f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256.0f)), 1.0f);  // ties round to even
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(Tensor, F16Conversion) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.1f})
    EXPECT_NEAR(f16_to_f32(f32_to_f16(f)), f, std::fabs(f) / 1024.0f) << f;
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
}

TEST(Allocator, RepeatedShapesReuseMemory) {
  Allocator& a = Allocator::cpu();
  auto step = [] {
    Tensor x = Tensor::empty({128, 384});
    Tensor y = Tensor::empty({128, 1536});
    Tensor z = x.clone();
    return z.numel() + y.numel();
  };
  step();
  const uint64_t before = a.stats().system_allocs;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(a.stats().system_allocs, before);
}

TEST(Allocator, CacheGivesBackPastItsLimit) {
  const size_t kb = 1024;
  Allocator a(1000 * kb);  // footprint limit: 1000 KiB
  void* p = a.allocate(600 * kb);
  a.release(p, 600 * kb);
  EXPECT_EQ(a.stats().bytes_cached, Allocator::size_class(600 * kb));  // under the limit: kept
  void* q = a.allocate(700 * kb);  // another class; 1300 KiB would cross the limit
  EXPECT_EQ(a.stats().bytes_cached, 0u);
  EXPECT_EQ(a.stats().bytes_in_use, Allocator::size_class(700 * kb));
  void* r = a.allocate(200 * kb);  // 700 + 200 fits: nothing to give back, nothing given back
  a.release(r, 200 * kb);
  EXPECT_EQ(a.stats().bytes_cached, Allocator::size_class(200 * kb));
  a.release(q, 700 * kb);  // 900 KiB cached in all: fits
  EXPECT_EQ(a.stats().bytes_cached,
            Allocator::size_class(200 * kb) + Allocator::size_class(700 * kb));
  EXPECT_EQ(a.stats().system_allocs, 3u);
  void* s = a.allocate(700 * kb);  // a hit: no new memory
  EXPECT_EQ(a.stats().system_allocs, 3u);
  a.release(s, 700 * kb);
}

// Large blocks start on a huge-page boundary, so that the kernel can back them with 2 MiB pages.
TEST(Allocator, LargeBlocksAreHugePageAligned) {
  Allocator a;
  const size_t huge = size_t{2} << 20;
  void* small = a.allocate(1 << 20);
  void* large = a.allocate(9 * huge + 123);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % huge, 0u);
  static_cast<char*>(large)[9 * huge + 122] = 1;  // the whole block is there to write
  a.release(small, 1 << 20);
  a.release(large, 9 * huge + 123);
}

TEST(Allocator, ZeroLimitCachesNothing) {
  Allocator a(0);
  for (int i = 0; i < 3; ++i) a.release(a.allocate(4096), 4096);
  EXPECT_EQ(a.stats().bytes_cached, 0u);
  EXPECT_EQ(a.stats().system_allocs, 3u);
}

TEST(Allocator, SizeClassesBoundSlack) {
  for (size_t n :
       {size_t{1}, size_t{4097}, size_t{1} << 20, (size_t{1} << 20) + 1, size_t{123457}}) {
    const size_t c = Allocator::size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(c, n + n / 4 + 64);
  }
}

TEST(Rng, SameNumbersForAnyThreadCount) {
  const int saved = num_threads();
  Tensor a = Tensor::empty({100003});
  Tensor b = Tensor::empty({100003});
  set_num_threads(1);
  Generator(42).normal_(a);
  set_num_threads(2);
  Generator(42).normal_(b);
  set_num_threads(saved);
  EXPECT_EQ(a.to_vector(), b.to_vector());
}

TEST(Rng, NormalHasUnitMomentsAndStreamsDiffer) {
  Tensor a = testing::randn({200000}, 1);
  const std::vector<float> v = a.to_vector();
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= double(v.size());
  for (float x : v) s += (x - m) * (x - m);
  s /= double(v.size());
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(s, 1.0, 0.01);
  EXPECT_NE(testing::randn({4}, 1).to_vector(), testing::randn({4}, 2).to_vector());
  // Drawing in two halves continues the same sequence.
  Generator g(9);
  Tensor h1 = Tensor::empty({5}), h2 = Tensor::empty({5}), all = Tensor::empty({10});
  g.normal_(h1);
  g.normal_(h2);
  Generator(9).normal_(all);
  EXPECT_EQ(all.slice(0, 5, 10).to_vector(), h2.to_vector());
}

TEST(Rng, PhiloxKnownAnswer) {
  // Known-answer vector of the Random123 reference (philox4x32_10, counter 0, key 0).
  const auto r = philox4x32(0, 0, 0);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
}

TEST(Strings, JoinPutsTheSeparatorBetweenEachTwoItems) {
  EXPECT_EQ(join(std::vector<std::string>{"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join(std::vector<std::string>{"only"}, ", "), "only");
  EXPECT_EQ(join(std::vector<std::string>{}, ", "), "");
  EXPECT_EQ(join(std::vector<std::string>{"", "b"}, "+"), "+b");  // an empty first item counts
  EXPECT_EQ(join(std::set<std::string>{"b", "a"}, " and "), "a and b");
  EXPECT_EQ(join(std::array<const char*, 2>{"x", "y"}, ","), "x,y");
}

TEST(Strings, AQuotedExcerptCutsALongTextAtACharacter) {
  EXPECT_EQ(quoted_excerpt("a red ball"), "\"a red ball\"");
  EXPECT_EQ(quoted_excerpt(std::string("abcdefgh"), 5), "\"abcde...\" (8 characters)");
  // "é" is two bytes: a cut inside it moves back to its start.
  EXPECT_EQ(quoted_excerpt("abcd\u00e9fgh", 5), "\"abcd...\" (9 characters)");
}

TEST(Strings, WithoutBomLeavesOutTheMarkAtTheStartOnly) {
  EXPECT_EQ(without_bom("\xEF\xBB\xBFpath,caption"), "path,caption");
  EXPECT_EQ(without_bom("path\xEF\xBB\xBF"), "path\xEF\xBB\xBF");
  EXPECT_EQ(without_bom(""), "");
}

TEST(Strings, AsciiLowerChangesAsciiLettersOnly) {
  EXPECT_EQ(ascii_lower(".MP4"), ".mp4");
  EXPECT_EQ(ascii_lower("Path, Caption @[`{"), "path, caption @[`{");
  // UTF-8 bytes are kept: "É" stays "É", not a broken byte.
  EXPECT_EQ(ascii_lower("CAF\u00c9.PNG"), "caf\u00c9.png");
}

}  // namespace
}  // namespace cubist
