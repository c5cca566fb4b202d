// The processes that train one model together (data parallelism): each holds the whole model,
// takes its share of every step's clips, and the gradients are summed over all of them before
// the optimizer steps, so every process takes the same step. Started by `mpirun -np N cubist
// train ...` the group is MPI's world (Open MPI from Debian); started alone, it is this process.
// The interface is what training needs and no more, so a test can stand in threads for processes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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
  // Every process passes a buffer of the same length and ends with `root`'s contents.
  virtual void broadcast(float* data, int64_t n, int root) = 0;
  // `root`'s bytes on every process, whatever the others held (a tokenizer that one process
  // trained).
  virtual void broadcast(std::string& bytes, int root) = 0;
  virtual void barrier() = 0;
};

// This process alone.
class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_sum(double*, int64_t) override {}
  void broadcast(float*, int64_t, int) override {}
  void broadcast(std::string&, int) override {}
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

// A step's clips dealt to `size` processes by their work, `costs[i]` for clip i, so that the
// process with the most, which the others wait for at the gradient sum, has little more than
// the mean: largest first, each to the process with the least so far (ties to the lower rank;
// Graham's LPT rule, within 4/3 of the best deal). Returns each process's clips (their places in
// the step, ascending); with costs above 0, every process gets one when there are enough.
std::vector<std::vector<int64_t>> balanced_shares(const std::vector<double>& costs, int size);

// This process's clips of a step of `batch` (their places in it, ascending): with `balance`,
// dealt by balanced_shares on cost(place) for every place, else share_of's run in rank order.
// cost is called only when balancing.
std::vector<int64_t> clips_of_process(int64_t batch, bool balance,
                                      const std::function<double(int64_t place)>& cost,
                                      const ProcessGroup& group);

// A collective over many tensors in buckets: the tensors of `sizes` elements are laid end to end
// and cut into buckets of at most `bucket` floats; each bucket is filled by `pack(tensor, begin,
// n, dst)` for every piece [begin, begin + n) of a tensor in it, passed to `exchange(buffer, n)`,
// and emptied by `unpack(tensor, begin, n, src)`. So a sum or broadcast of a whole model takes
// a few calls, not one a tensor, and a buffer of one bucket, not one the model's size.
inline constexpr int64_t kBucketFloats = int64_t{4} << 20;  // 16 MB
using PieceFn = std::function<void(size_t tensor, int64_t begin, int64_t n, float* data)>;
void in_buckets(const std::vector<int64_t>& sizes, int64_t bucket, const PieceFn& pack,
                const std::function<void(float* buffer, int64_t n)>& exchange,
                const PieceFn& unpack);

// The gradients of `params` summed over the group, each process's first scaled by `weight` (its
// share of the step's loss: how many of the step's loss elements are its), in one all-reduce.
// A parameter that has no gradient here counts as zeros and has one after.
void sum_gradients(const std::vector<NamedParam>& params, float weight, ProcessGroup& group);

// Which of `size` processes owns each of `params` when optimizer state is sharded: the largest
// parameters first, each to the process that owns the fewest elements so far (the lowest rank
// of those tied), so the shares differ by at most one parameter's size.
std::vector<int> owners(const std::vector<NamedParam>& params, int size);

// Whether the processes hold the same weights: a checksum of `params` compared over the group.
// False when any process's differ (a step that went differently, which must not go unseen).
bool same_weights(const std::vector<NamedParam>& params, ProcessGroup& group);

}  // namespace cubist
