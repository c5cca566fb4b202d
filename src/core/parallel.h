// Parallel loops run on OpenMP's thread pool. Results never depend on the thread count: every
// loop below writes disjoint outputs, and reductions are done per fixed-size chunk, then summed in
// chunk order.
#pragma once

#include <cstdint>

#include <omp.h>

namespace cubist {

inline int num_threads() { return omp_get_max_threads(); }
inline void set_num_threads(int n) { omp_set_num_threads(n); }

// Calls f(begin, end) on disjoint ranges that cover [0, n); ranges are at least `grain` long.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1 || omp_in_parallel()) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * grain;
    f(b, b + grain < n ? b + grain : n);
  }
}

}  // namespace cubist
