// The processes that train one model together (data parallelism): each holds the whole model,
// takes its share of every step's clips, and the gradients are summed over all of them before
// the optimizer steps, so every process takes the same step. Started by `mpirun -np N cubist
// train ...` the group is MPI's world (Open MPI from Debian); started alone, it is this process.
// The interface is what training needs and no more, so a test can stand in threads for processes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/module.h"

namespace cubist {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 writes the run's files
  virtual int size() const = 0;
  // Every process passes a buffer of the same length and ends with the element-wise sum over
  // all of them, the same on every process.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  virtual void barrier() = 0;
};

// This process alone.
class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_sum(double*, int64_t) override {}
  void barrier() override {}
};

// The processes this program was started with: MPI's world when a launcher (mpirun, srun)
// started it, else this process alone. MPI is initialised on the first call and finalised at
// exit. An Error when a launcher started several processes and Cubist was built without MPI.
ProcessGroup& world();

// Ends every process of the launcher's job with `code` (MPI_Abort), for an error in one while
// the others may wait for it; without MPI running, only this process.
[[noreturn]] void abort_processes(int code);

// How many processes the launcher that started this one says there are (1 without one): read
// from its environment, so it is known before MPI starts and without it.
int launched_processes();
// This process's rank among them, from the same environment (0 without a launcher).
int launched_rank();

// Clips [begin, end) of a step's `batch` that process `rank` of `size` takes: shares that
// differ by at most one clip, in rank order.
struct Share {
  int64_t begin = 0, end = 0;
};
Share share_of(int64_t batch, int rank, int size);

// The gradients of `params` summed over the group, each process's first scaled by `weight` (its
// share of the step's loss: how many of the step's loss elements are its), in one all-reduce.
// A parameter that has no gradient here counts as zeros and has one after.
void sum_gradients(const std::vector<NamedParam>& params, float weight, ProcessGroup& group);

// Whether the processes hold the same weights: a checksum of `params` compared over the group.
// False when any process's differ (a step that went differently, which must not go unseen).
bool same_weights(const std::vector<NamedParam>& params, ProcessGroup& group);

}  // namespace cubist
