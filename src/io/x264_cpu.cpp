#include "io/x264_cpu.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstring>

namespace cubist {

namespace {

// x264.h's x264_cpu_name_t: a name of x264's "asm" option and the flags it stands for. The
// table ends with an empty name.
struct X264CpuName {
  const char* name;
  uint32_t flags;
};

uint32_t flags_named(const X264CpuName* names, const char* name) {
  for (const X264CpuName* n = names; n->name && *n->name; ++n)
    if (std::strcmp(n->name, name) == 0) return n->flags;
  return 0;
}

}  // namespace

std::string x264_cpu_without_avx512() {
  // libx264 is loaded with libavcodec; its table and detection are looked up rather than linked,
  // since Debian installs no x264.h with libavcodec and a libx264 without them is no error.
  using Detect = uint32_t (*)();
  const auto detect = reinterpret_cast<Detect>(dlsym(RTLD_DEFAULT, "x264_cpu_detect"));
  const auto* names = static_cast<const X264CpuName*>(dlsym(RTLD_DEFAULT, "x264_cpu_names"));
  if (!detect || !names) return "";
  // "AVX512" stands for AVX2's flags and its own bit.
  const uint32_t avx512 = flags_named(names, "AVX512") & ~flags_named(names, "AVX2");
  const uint32_t cpu = detect();
  if (avx512 == 0 || (cpu & avx512) == 0) return "";
  return std::to_string(cpu & ~avx512);
}

}  // namespace cubist
