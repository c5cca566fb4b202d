// MPI's world as a ProcessGroup (compiled when CMake finds MPI; CUBIST_MPI is then defined).
#ifdef CUBIST_MPI
#include <mpi.h>

#include <cstdlib>
#include <limits>
#include <memory>

#include "core/error.h"
#include "train/process_group.h"

namespace cubist {
namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("MPI: ") + what + " failed: " + std::string(text, length));
}

// Open MPI chooses its all-reduce by message size and process count, and for the tens of
// megabytes of a step's gradients over 2 processes on one machine its choice summed 37.6 MB in
// 85 ms where its ring (a reduce-scatter and an all-gather passed round the processes, the
// bandwidth-optimal pattern that NCCL and Horovod use for large sums) took 6.4 ms
// (docs/PERFORMANCE.md). So the ring is the default; a user who sets either variable (or
// `mpirun --mca` them) keeps their own choice, and other MPIs ignore them.
void prefer_ring_all_reduce() {
#ifdef OPEN_MPI
  if (std::getenv("OMPI_MCA_coll_tuned_use_dynamic_rules") ||
      std::getenv("OMPI_MCA_coll_tuned_allreduce_algorithm"))
    return;
  setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
  setenv("OMPI_MCA_coll_tuned_allreduce_algorithm", "4", 0);  // 4: ring
#endif
}

class MpiWorld final : public ProcessGroup {
 public:
  MpiWorld() {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
      prefer_ring_all_reduce();
      // Only the main thread calls MPI; OpenMP's threads compute between the calls.
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int done = 0;
        MPI_Finalized(&done);
        if (!done) MPI_Finalize();
      });
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(float* data, int64_t n) override { reduce(data, n, MPI_FLOAT); }
  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE); }
  void broadcast(float* data, int64_t n, int root) override {
    constexpr int64_t kMax = std::numeric_limits<int>::max();
    for (int64_t start = 0; start < n; start += kMax)
      check(MPI_Bcast(data + start, static_cast<int>(std::min(kMax, n - start)), MPI_FLOAT, root,
                      MPI_COMM_WORLD),
            "MPI_Bcast");
  }
  void broadcast(std::string& bytes, int root) override {
    int64_t n = static_cast<int64_t>(bytes.size());
    check(MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
    bytes.resize(static_cast<size_t>(n));
    constexpr int64_t kMax = std::numeric_limits<int>::max();
    for (int64_t start = 0; start < n; start += kMax)
      check(MPI_Bcast(bytes.data() + start, static_cast<int>(std::min(kMax, n - start)), MPI_BYTE,
                      root, MPI_COMM_WORLD),
            "MPI_Bcast");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 private:
  template <typename T>
  void reduce(T* data, int64_t n, MPI_Datatype type) {
    // MPI counts are ints: a buffer larger than that goes in pieces.
    constexpr int64_t kMax = std::numeric_limits<int>::max();
    for (int64_t start = 0; start < n; start += kMax) {
      const int count = static_cast<int>(std::min(kMax, n - start));
      check(MPI_Allreduce(MPI_IN_PLACE, data + start, count, type, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    }
  }
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<ProcessGroup> mpi_world() { return std::make_unique<MpiWorld>(); }

void abort_processes(int code) {
  int running = 0, done = 0;
  MPI_Initialized(&running);
  MPI_Finalized(&done);
  if (running && !done) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace cubist
#endif
