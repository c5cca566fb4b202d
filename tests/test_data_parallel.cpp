// Data parallelism (train/process_group.h): processes that each take a share of a step's clips
// and sum their gradients take the step one process takes on all of them. Threads stand in for
// processes (tests/thread_group.h); the Mpi tests run the same under mpirun, as ctest's
// mpi_data_parallel does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "diffusion/dit_flow.h"
#include "model_testing.h"
#include "testing.h"
#include "thread_group.h"
#include "train/dit_trainer.h"
#include "train/process_group.h"

namespace cubist {
namespace {

const std::vector<std::string> kCaptions = {
    "a small red circle bouncing on a navy background",
    "a large blue square moving left on a black background",
    "a small green triangle spinning on a gray background",
    "a large yellow circle moving up on a brown background",
    "a small white square standing still on a black background"};

// Clips of different sizes, so that the shares of a step hold different numbers of loss
// elements and a plain mean of the processes' losses would be wrong.
std::vector<Tensor> clips() {
  return {testing::randn({4, 3, 4, 4}, 1), testing::randn({4, 2, 2, 6}, 2),
          testing::randn({4, 1, 4, 2}, 3), testing::randn({4, 4, 2, 2}, 4),
          testing::randn({4, 2, 4, 4}, 5)};
}

DiTTrainer new_trainer() {
  DiTConfig c = testing::tiny_dit_config();
  c.frame_conditioning = true;  // masks leave a share of each clip out of the loss
  c.condition_rate = 0.7f;
  c.caption_dropout = 0.2f;
  return DiTTrainer(c, text::Tokenizer::from_captions(kCaptions),
                    {.adam = {.lr = 3e-3f}, .warmup_steps = 0, .seed = 5, .ema_decay = 0.9f}, 7);
}

std::vector<float> weights(const DiTTrainer& t) {
  std::vector<float> all;
  for (const NamedParam& p : t.model().parameters()) {
    const std::vector<float> v = p.var.value().to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

template <typename T>
std::vector<T> part(const std::vector<T>& all, const std::vector<int64_t>& places) {
  std::vector<T> out;
  for (const int64_t i : places) out.push_back(all[static_cast<size_t>(i)]);
  return out;
}

// Clips [s.begin, s.end): a share in rank order.
std::vector<int64_t> places_of(Share s) {
  std::vector<int64_t> places;
  for (int64_t i = s.begin; i < s.end; ++i) places.push_back(i);
  return places;
}

// This process's clips of the step: in rank order, or dealt by their elements (balanced_shares).
std::vector<int64_t> my_places(const ProcessGroup& g, bool balanced) {
  if (!balanced)
    return places_of(share_of(static_cast<int64_t>(kCaptions.size()), g.rank(), g.size()));
  std::vector<double> costs;
  for (const Tensor& c : clips()) costs.push_back(static_cast<double>(c.numel()));
  return balanced_shares(costs, g.size())[static_cast<size_t>(g.rank())];
}

// Trains `steps` steps on this process's share of the clips; returns its weights and losses.
// The optimizer's moments sharded over the processes, as `cubist train` runs them.
std::pair<std::vector<float>, std::vector<float>> train_share(ProcessGroup& g, int steps,
                                                              bool balanced = false) {
  DiTTrainer t = new_trainer();
  t.shard_optimizer(g);
  const std::vector<int64_t> s = my_places(g, balanced);
  std::vector<float> losses;
  for (int i = 0; i < steps; ++i)
    losses.push_back(t.step(part(clips(), s), part(kCaptions, s), &g, s).loss);
  EXPECT_TRUE(same_weights(t.model().parameters(), g));
  return {weights(t), losses};
}

std::pair<std::vector<float>, std::vector<float>> train_whole(int steps) {
  DiTTrainer t = new_trainer();
  std::vector<float> losses;
  for (int i = 0; i < steps; ++i) losses.push_back(t.step(clips(), kCaptions).loss);
  return {weights(t), losses};
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol,
                  const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_LT(worst, tol) << what;
}

TEST(DataParallel, SharesCoverTheBatchInRankOrder) {
  EXPECT_EQ(share_of(8, 0, 1).end, 8);
  int64_t next = 0;
  for (int r = 0; r < 3; ++r) {
    const Share s = share_of(8, r, 3);
    EXPECT_EQ(s.begin, next);
    EXPECT_GE(s.end - s.begin, 2);
    EXPECT_LE(s.end - s.begin, 3);
    next = s.end;
  }
  EXPECT_EQ(next, 8);
  EXPECT_THROW(share_of(8, 3, 3), Error);
}

TEST(DataParallel, BalancedSharesDealTheLargestFirstToTheLeastLoaded) {
  // 9 to rank 0, 7 to rank 1, 5 to rank 1 (7 < 9), 4 to rank 0 (9 < 12), 1 to rank 1 (12 < 13).
  const auto shares = balanced_shares({4, 9, 1, 7, 5}, 2);
  EXPECT_EQ(shares[0], (std::vector<int64_t>{0, 1}));     // 13
  EXPECT_EQ(shares[1], (std::vector<int64_t>{2, 3, 4}));  // 13
  // In order, the two large clips at the end would go to one process: 4 against 16.
  const auto big = balanced_shares({1, 1, 1, 1, 8, 8}, 2);
  EXPECT_EQ(big[0], (std::vector<int64_t>{0, 2, 4}));  // equal loads: ties to the lower rank
  EXPECT_EQ(big[1], (std::vector<int64_t>{1, 3, 5}));
  // Every clip dealt once, every process given one when there are enough.
  const auto three = balanced_shares({3, 3, 3, 3}, 3);
  EXPECT_EQ(three[0], (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(three[1], std::vector<int64_t>{1});
  EXPECT_EQ(three[2], std::vector<int64_t>{2});
  EXPECT_TRUE(balanced_shares({2}, 2)[1].empty());
  EXPECT_THROW(balanced_shares({1}, 0), Error);
}

TEST(DataParallel, LaunchedProcessesAreWhatTheLauncherSays) {
  const char* names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS",
                         "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"};
  std::vector<std::pair<std::string, std::string>> saved;
  for (const char* n : names)
    if (const char* v = std::getenv(n)) saved.push_back({n, v});
  for (const char* n : names) unsetenv(n);
  EXPECT_EQ(launched_processes(), 1);
  setenv("SLURM_NTASKS", "4", 1);  // a Slurm job's plain command is one process
  EXPECT_EQ(launched_processes(), 1);
  setenv("PMI_SIZE", "3", 1);  // srun or MPICH's launcher started it
  EXPECT_EQ(launched_processes(), 3);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_EQ(launched_processes(), 2);
  EXPECT_EQ(launched_rank(), 0);
  setenv("PMI_RANK", "2", 1);
  EXPECT_EQ(launched_rank(), 2);
  setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  EXPECT_EQ(launched_rank(), 1);
  for (const char* n : names) unsetenv(n);
  for (const auto& [n, v] : saved) setenv(n.c_str(), v.c_str(), 1);
}

TEST(DataParallel, ProcessesTakeTheStepOneProcessTakesOnTheWholeBatch) {
  const auto [whole, whole_losses] = train_whole(3);
  for (const bool balanced : {false, true})
    for (int size : {2, 3}) {
      SCOPED_TRACE((balanced ? "balanced, " : "in order, ") + std::to_string(size));
      std::vector<std::vector<float>> got(static_cast<size_t>(size));
      std::vector<float> losses;
      testing::ThreadGroup::run(size, [&](ProcessGroup& g) {
        auto [w, l] = train_share(g, 3, balanced);
        got[static_cast<size_t>(g.rank())] = w;
        if (g.rank() == 0) losses = l;
      });
      for (int r = 1; r < size; ++r)  // the same sums give every process the same step
        EXPECT_EQ(got[static_cast<size_t>(r)], got[0]) << "rank " << r << " of " << size;
      expect_close(losses, whole_losses, 1e-5f, "losses");
      expect_close(got[0], whole, 2e-5f, "weights after 3 steps");
    }
}

TEST(DataParallel, AClipDrawsTheSameWhateverShareItIsIn) {
  // The draws of a clip depend on the step and its place in the batch alone.
  DiTTrainer t = new_trainer();
  Prompts prompts;
  for (const std::string& c : kCaptions) prompts.push_back(t.tokenizer().encode(c));
  const Generator draws(9);
  const FlowLoss whole = flow_matching_loss(t.model(), clips(), prompts, draws);
  // Two shares as balanced_shares deals them: clips out of order, not a run of places.
  const std::vector<int64_t> mine{0, 2, 4}, others{1, 3};
  const FlowLoss a =
      flow_matching_loss(t.model(), part(clips(), mine), part(prompts, mine), draws, mine);
  for (size_t i = 0; i < mine.size(); ++i) {
    const size_t w = static_cast<size_t>(mine[i]);
    EXPECT_EQ(a.times[i], whole.times[w]);
    EXPECT_EQ(a.dropped[i], whole.dropped[w]);
    EXPECT_EQ(a.known[i], whole.known[w]);
  }
  const FlowLoss b =
      flow_matching_loss(t.model(), part(clips(), others), part(prompts, others), draws, others);
  EXPECT_EQ(a.elements + b.elements, whole.elements);
  EXPECT_NEAR(a.loss.item() * a.elements + b.loss.item() * b.elements,
              whole.loss.item() * whole.elements, 1e-4 * whole.loss.item() * whole.elements);
  EXPECT_THROW(flow_matching_loss(t.model(), clips(), prompts, draws, {0, 1}), Error);
}

TEST(DataParallel, SameWeightsSeesOneWeightDiffer) {
  testing::ThreadGroup::run(2, [](ProcessGroup& g) {
    DiTTrainer t = new_trainer();
    EXPECT_TRUE(same_weights(t.model().parameters(), g));
    if (g.rank() == 1) {
      Tensor w = t.model().parameters().back().var.value();
      w.data<float>()[0] = std::nextafter(w.data<float>()[0], 1.0f);  // one ulp
    }
    EXPECT_FALSE(same_weights(t.model().parameters(), g));
  });
}

TEST(DataParallel, SumsGradientsWeightedAndFillsMissingOnes) {
  testing::ThreadGroup::run(2, [](ProcessGroup& g) {
    Var a(Tensor::full({3}, 1.0f), true), b(Tensor::full({2}, 0.0f), true);
    a.grad() = Tensor::full({3}, g.rank() == 0 ? 2.0f : 10.0f);
    if (g.rank() == 1) b.grad() = Tensor::full({2}, 4.0f);  // rank 0 has none
    sum_gradients({{"a", a}, {"b", b}}, g.rank() == 0 ? 0.25f : 0.75f, g);
    EXPECT_EQ(a.grad().to_vector(), std::vector<float>(3, 0.25f * 2 + 0.75f * 10));
    EXPECT_EQ(b.grad().to_vector(), std::vector<float>(2, 3.0f));
  });
}

// Tensors of 3, 7, 0 and 4 elements in buckets of 5: three exchanges of 5, 5 and 4 floats,
// tensors split across them, every element packed and unpacked once, in place.
TEST(DataParallel, BucketsCutTensorsLaidEndToEnd) {
  std::vector<std::vector<float>> t = {{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10}, {}, {11, 12, 13, 14}};
  std::vector<int64_t> sizes;
  for (const auto& v : t) sizes.push_back(static_cast<int64_t>(v.size()));
  std::vector<int64_t> exchanged;
  in_buckets(
      sizes, 5,
      [&](size_t i, int64_t begin, int64_t n, float* dst) {
        std::copy_n(t[i].data() + begin, n, dst);
      },
      [&](float* data, int64_t n) {
        exchanged.push_back(n);
        for (int64_t k = 0; k < n; ++k) data[k] *= 10;
      },
      [&](size_t i, int64_t begin, int64_t n, float* src) {
        std::copy_n(src, n, t[i].data() + begin);
      });
  EXPECT_EQ(exchanged, (std::vector<int64_t>{5, 5, 4}));
  EXPECT_EQ(t[0], (std::vector<float>{10, 20, 30}));
  EXPECT_EQ(t[1], (std::vector<float>{40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ(t[3], (std::vector<float>{110, 120, 130, 140}));
}

// Under mpirun (ctest's mpi_data_parallel: two processes), the same as the threads above.
TEST(Mpi, ProcessesTakeTheStepOneProcessTakesOnTheWholeBatch) {
  ProcessGroup& g = world();
  if (g.size() == 1) GTEST_SKIP() << "one process: ctest runs this under mpirun";
  const auto [whole, whole_losses] = train_whole(3);
  const auto [mine, losses] = train_share(g, 3);
  expect_close(losses, whole_losses, 1e-5f, "losses");
  expect_close(mine, whole, 2e-5f, "weights after 3 steps");
}

// A buffer of a million floats (a sum that goes round the ring, which Cubist asks Open MPI
// for): every element the sum over the processes, on every process.
TEST(Mpi, SumsALargeBufferOnEveryProcess) {
  ProcessGroup& g = world();
  if (g.size() == 1) GTEST_SKIP() << "one process: ctest runs this under mpirun";
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {  // Open MPI, and ctest sets no algorithm
    const char* algorithm = std::getenv("OMPI_MCA_coll_tuned_allreduce_algorithm");
    ASSERT_NE(algorithm, nullptr);
    EXPECT_STREQ(algorithm, "4");
  }
  const int64_t n = 1'000'003, size = g.size();
  std::vector<float> data(n);
  for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>(g.rank() + 1 + i % 5);
  g.all_reduce_sum(data.data(), n);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    wrong += data[i] != static_cast<float>(size * (size + 1) / 2 + size * (i % 5));
  EXPECT_EQ(wrong, 0);
}

// Bytes (a tokenizer one process trained) from `root` to every process: its length too, and
// every byte value, whatever the others held.
void expect_bytes_broadcast(ProcessGroup& g, int root) {
  std::string sent(70001, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 % 256);
  std::string bytes = g.rank() == root ? sent : std::string(g.rank() + 3, 'x');
  g.broadcast(bytes, root);
  EXPECT_EQ(bytes, sent) << "rank " << g.rank();
  std::string empty = g.rank() == root ? "" : "not empty";
  g.broadcast(empty, root);
  EXPECT_EQ(empty, "") << "rank " << g.rank();
}

TEST(DataParallel, BroadcastsBytesOfAnyLength) {
  testing::ThreadGroup::run(3, [&](ProcessGroup& g) { expect_bytes_broadcast(g, 1); });
}

TEST(Mpi, BroadcastsBytesOfAnyLength) {
  ProcessGroup& g = world();
  if (g.size() == 1) GTEST_SKIP() << "one process: ctest runs this under mpirun";
  expect_bytes_broadcast(g, g.size() - 1);
}

}  // namespace
}  // namespace cubist
