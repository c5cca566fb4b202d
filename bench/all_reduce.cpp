// The gradient sum of data-parallel training alone: ProcessGroup::all_reduce_sum over N floats
// (default 9.41 M, the bundled transformer's parameters), as `cubist train` calls it under
// mpirun. Prints the milliseconds of each repetition after a warm-up, and checks the sum.
//   mpirun -np 2 build/bench_all_reduce [--floats N] [--repeats R]
// With OMPI_MCA_coll_tuned_use_dynamic_rules=0 in the environment Open MPI sums with its own
// choice of algorithm instead of the ring that Cubist asks for (docs/PERFORMANCE.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "train/process_group.h"

int main(int argc, char** argv) {
  int64_t floats = 9'410'000, repeats = 6;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--floats")) floats = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoll(argv[i + 1]);
  }
  try {
    cubist::ProcessGroup& group = cubist::world();
    std::vector<float> data(static_cast<size_t>(floats));
    for (int64_t r = 0; r <= repeats; ++r) {
      for (int64_t i = 0; i < floats; ++i) data[i] = static_cast<float>(group.rank() + 1 + i % 3);
      group.barrier();
      const auto start = std::chrono::steady_clock::now();
      group.all_reduce_sum(data.data(), floats);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      const int n = group.size();
      int64_t wrong = 0;
      for (int64_t i = 0; i < floats; ++i)
        wrong += data[i] != static_cast<float>(n * (n + 1) / 2 + n * (i % 3));
      if (wrong) {
        std::fprintf(stderr, "bench_all_reduce: %lld sums wrong\n", static_cast<long long>(wrong));
        return 1;
      }
      if (group.rank() == 0 && r > 0)  // the first is the warm-up
        std::printf("%d process%s, %.1f MB: %.1f ms\n", n, n > 1 ? "es" : "",
                    4e-6 * static_cast<double>(floats), ms);
    }
  } catch (const cubist::Error& e) {
    std::fprintf(stderr, "bench_all_reduce: %s\n", e.what());
    return 1;
  }
  return 0;
}
