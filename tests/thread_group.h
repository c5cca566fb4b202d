// Threads standing in for the processes of a data-parallel job (train/process_group.h), so that
// the tests of data parallelism run without mpirun: ThreadGroup::run(n, fn) calls fn(group) on n
// threads, each with its own rank, and their all-reduces meet in memory. Each runs its work on
// one OpenMP thread, as `mpirun -np N` with OMP_NUM_THREADS=1 would: oneDNN's primitives, run
// at once from several threads that each ask for an OpenMP team, can wait forever in their own
// barriers when a team comes out smaller than they asked.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "train/process_group.h"

namespace cubist::testing {

class ThreadGroup final : public ProcessGroup {
 public:
  // Runs fn on `size` threads, one per rank; the first exception a thread throws is rethrown.
  static void run(int size, const std::function<void(ProcessGroup&)>& fn) {
    Shared shared(size);
    std::vector<std::exception_ptr> errors(static_cast<size_t>(size));
    std::vector<std::thread> threads;
    for (int r = 0; r < size; ++r)
      threads.emplace_back([&, r] {
        ThreadGroup g(shared, r);
        set_num_threads(1);
        try {
          fn(g);
        } catch (...) {
          errors[static_cast<size_t>(r)] = std::current_exception();
        }
      });
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  }

  int rank() const override { return rank_; }
  int size() const override { return shared_.size; }
  void all_reduce_sum(float* data, int64_t n) override { reduce(data, n); }
  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n); }
  void broadcast(float* data, int64_t n, int root) override { broadcast_values(data, n, root); }
  void broadcast(std::string& bytes, int root) override {
    double n = static_cast<double>(bytes.size());
    broadcast_values(&n, 1, root);
    std::vector<double> values(bytes.begin(), bytes.end());
    values.resize(static_cast<size_t>(n));
    broadcast_values(values.data(), static_cast<int64_t>(values.size()), root);
    bytes.assign(values.begin(), values.end());
  }
  void barrier() override { reduce(static_cast<double*>(nullptr), 0); }

 private:
  struct Shared {
    explicit Shared(int n) : size(n) {}
    int size;
    std::mutex m;
    std::condition_variable cv;
    int arrived = 0;
    long generation = 0;
    std::vector<double> sum, result;
  };
  ThreadGroup(Shared& s, int rank) : shared_(s), rank_(rank) {}

  template <typename T>
  void broadcast_values(T* data, int64_t n, int root) {
    meet(data, n, [&](std::vector<double>& shared) {
      if (rank_ == root) std::copy(data, data + n, shared.begin());
    });
  }

  template <typename T>
  void reduce(T* data, int64_t n) {
    meet(data, n, [&](std::vector<double>& sum) {
      for (int64_t i = 0; i < n; ++i) sum[static_cast<size_t>(i)] += data[i];
    });
  }

  // Every rank puts its buffer in (`contribute`); the last to arrive publishes the result and
  // wakes the others, who copy it out before any of them can start the next collective.
  template <typename T, typename Contribute>
  void meet(T* data, int64_t n, const Contribute& contribute) {
    std::unique_lock<std::mutex> lock(shared_.m);
    if (shared_.arrived == 0) shared_.sum.assign(static_cast<size_t>(n), 0.0);
    contribute(shared_.sum);
    const long generation = shared_.generation;
    if (++shared_.arrived == shared_.size) {
      shared_.result = shared_.sum;
      shared_.arrived = 0;
      ++shared_.generation;
      shared_.cv.notify_all();
    } else {
      shared_.cv.wait(lock, [&] { return shared_.generation != generation; });
    }
    for (int64_t i = 0; i < n; ++i)
      data[i] = static_cast<T>(shared_.result[static_cast<size_t>(i)]);
  }

  Shared& shared_;
  int rank_;
};

}  // namespace cubist::testing
