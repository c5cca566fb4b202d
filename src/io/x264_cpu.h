// The CPU features libx264 may use when Cubist writes H.264: all it detects but AVX-512.
//
// libx264 0.164 (Debian 12's) reads memory it never wrote in its AVX-512 code: the same frames
// then encode to other bytes as the heap's leftovers differ (measured: one clip, five
// MALLOC_PERTURB_ values, three different files; without AVX-512, one). Cubist promises that a
// seed gives the same bytes, so the encoder is told to leave AVX-512 out; it encodes as fast
// without (docs/PERFORMANCE.md, "H.264 writing without AVX-512").
#pragma once

#include <string>

namespace cubist {

// The value of x264's "asm" option (its CPU flags as a number) that keeps every flag x264
// detects on this machine except AVX-512; empty where there is nothing to take out (a CPU
// without AVX-512, another architecture, or a libx264 that does not export its detection).
std::string x264_cpu_without_avx512();

}  // namespace cubist
