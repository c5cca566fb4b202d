#include "train/process_group.h"

#include <algorithm>
#include <initializer_list>
#include <numeric>

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace cubist {

// Built with MPI, world() lives in train/mpi_group.cpp.
std::unique_ptr<ProcessGroup> mpi_world();

namespace {

// The first of the launchers' variables that holds a number >= `least`: Open MPI's mpirun, then
// the PMI that MPICH's launcher and Slurm's srun set for each process they start. (Not Slurm's
// own SLURM_NTASKS: a job's plain commands see it too.)
int launcher_value(std::initializer_list<const char*> names, int least, int fallback) {
  for (const char* name : names) {
    const char* v = std::getenv(name);
    if (v && *v) {
      const int n = std::atoi(v);
      if (n >= least) return n;
    }
  }
  return fallback;
}

}  // namespace

int launched_processes() {
  return launcher_value({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}, 1, 1);
}

int launched_rank() {
  return launcher_value({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}, 0, 0);
}

ProcessGroup& world() {
  static const std::unique_ptr<ProcessGroup> group = [] {
    std::unique_ptr<ProcessGroup> g = launched_processes() > 1 ? mpi_world() : nullptr;
    return g ? std::move(g) : std::unique_ptr<ProcessGroup>(new SingleProcess);
  }();
  return *group;
}

Share share_of(int64_t batch, int rank, int size) {
  CUBIST_CHECK(size >= 1 && rank >= 0 && rank < size, "share_of: rank ", rank, " of ", size);
  return {batch * rank / size, batch * (rank + 1) / size};
}

std::vector<std::vector<int64_t>> balanced_shares(const std::vector<double>& costs, int size) {
  CUBIST_CHECK(size >= 1, "balanced_shares: ", size, " processes");
  std::vector<int64_t> order(costs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return costs[static_cast<size_t>(a)] > costs[static_cast<size_t>(b)];
  });
  std::vector<std::vector<int64_t>> shares(static_cast<size_t>(size));
  std::vector<double> load(static_cast<size_t>(size), 0.0);
  for (const int64_t clip : order) {
    const size_t least =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    shares[least].push_back(clip);
    load[least] += costs[static_cast<size_t>(clip)];
  }
  for (std::vector<int64_t>& s : shares) std::sort(s.begin(), s.end());
  return shares;
}

std::vector<int64_t> clips_of_process(int64_t batch, bool balance,
                                      const std::function<double(int64_t place)>& cost,
                                      const ProcessGroup& group) {
  if (balance) {
    std::vector<double> costs;
    for (int64_t j = 0; j < batch; ++j) costs.push_back(cost(j));
    return balanced_shares(costs, group.size())[static_cast<size_t>(group.rank())];
  }
  const Share s = share_of(batch, group.rank(), group.size());
  std::vector<int64_t> places(static_cast<size_t>(s.end - s.begin));
  std::iota(places.begin(), places.end(), s.begin);
  return places;
}

void in_buckets(const std::vector<int64_t>& sizes, int64_t bucket, const PieceFn& pack,
                const std::function<void(float*, int64_t)>& exchange, const PieceFn& unpack) {
  CUBIST_CHECK(bucket >= 1, "in_buckets: buckets of ", bucket, " floats");
  // Kept from call to call: fresh pages every step cost more in faults than the sums.
  static thread_local std::vector<float> buffer;
  struct Piece {
    size_t tensor;
    int64_t begin, n;
  };
  std::vector<Piece> pieces;
  int64_t filled = 0;
  auto flush = [&] {
    if (filled == 0) return;
    buffer.resize(static_cast<size_t>(filled));
    int64_t at = 0;
    for (const Piece& p : pieces) pack(p.tensor, p.begin, p.n, buffer.data() + at), at += p.n;
    exchange(buffer.data(), filled);
    at = 0;
    for (const Piece& p : pieces) unpack(p.tensor, p.begin, p.n, buffer.data() + at), at += p.n;
    pieces.clear();
    filled = 0;
  };
  for (size_t t = 0; t < sizes.size(); ++t)
    for (int64_t begin = 0; begin < sizes[t];) {
      const int64_t n = std::min(sizes[t] - begin, bucket - filled);
      pieces.push_back({t, begin, n});
      filled += n, begin += n;
      if (filled == bucket) flush();
    }
  flush();
}

void sum_gradients(const std::vector<NamedParam>& params, float weight, ProcessGroup& group) {
  std::vector<Tensor> grads;  // contiguous, or zeros where a parameter has no gradient
  std::vector<int64_t> sizes;
  for (const NamedParam& p : params) {
    Var v = p.var;
    if (!v.grad().defined()) v.grad() = Tensor::zeros(v.value().shape());
    if (!v.grad().is_contiguous()) v.grad() = v.grad().contiguous();
    grads.push_back(v.grad());
    sizes.push_back(v.value().numel());
  }
  in_buckets(
      sizes, kBucketFloats,
      [&](size_t t, int64_t begin, int64_t n, float* dst) {
        const float* src = grads[t].data<float>() + begin;
        for (int64_t i = 0; i < n; ++i) dst[i] = weight * src[i];
      },
      [&](float* data, int64_t n) { group.all_reduce_sum(data, n); },
      [&](size_t t, int64_t begin, int64_t n, float* src) {
        std::copy(src, src + n, grads[t].data<float>() + begin);
      });
}

std::vector<int> owners(const std::vector<NamedParam>& params, int size) {
  CUBIST_CHECK(size >= 1, "owners: ", size, " processes");
  std::vector<size_t> order(params.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Stable, so parameters of one size keep their order and every process agrees.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return params[a].var.value().numel() > params[b].var.value().numel();
  });
  std::vector<int64_t> load(static_cast<size_t>(size), 0);
  std::vector<int> owner(params.size(), 0);
  for (size_t i : order) {
    const auto least = std::min_element(load.begin(), load.end());
    owner[i] = static_cast<int>(least - load.begin());
    *least += params[i].var.value().numel();
  }
  return owner;
}

bool same_weights(const std::vector<NamedParam>& params, ProcessGroup& group) {
  if (group.size() == 1) return true;
  // A hash of the weights' bits (FNV-1a over each float's 32 bits): any difference, down to one
  // bit of one weight, changes it.
  uint64_t h = 0xcbf29ce484222325ull;
  for (const NamedParam& p : params) {
    const Tensor w = p.var.value().contiguous();
    const float* x = w.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      h = (h ^ bits) * 0x100000001b3ull;
    }
  }
  // Each process puts its hash, in two 32-bit halves that a double holds exactly, in its own
  // slots; after the sum every process holds every hash.
  std::vector<double> slots(2 * static_cast<size_t>(group.size()), 0.0);
  slots[2 * static_cast<size_t>(group.rank())] = static_cast<double>(h >> 32);
  slots[2 * static_cast<size_t>(group.rank()) + 1] = static_cast<double>(h & 0xffffffffull);
  group.all_reduce_sum(slots.data(), static_cast<int64_t>(slots.size()));
  for (size_t r = 1; r < slots.size() / 2; ++r)
    if (slots[2 * r] != slots[0] || slots[2 * r + 1] != slots[1]) return false;
  return true;
}

#ifndef CUBIST_MPI
void abort_processes(int code) { std::exit(code); }

std::unique_ptr<ProcessGroup> mpi_world() {
  throw Error("a launcher started " + std::to_string(launched_processes()) +
              " processes, but this cubist was built without MPI, so they cannot train "
              "together; install Open MPI (libopenmpi-dev, which scripts/setup.sh installs) and "
              "build again, or run one process");
}
#endif

}  // namespace cubist
