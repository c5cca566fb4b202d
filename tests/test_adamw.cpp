// AdamW and gradient clipping against torch.optim.AdamW and clip_grad_norm_; AdamW's moments
// sharded over processes (threads standing in for them, and under mpirun) against one process.
#include <cmath>
#include <filesystem>

#include "testing.h"
#include "thread_group.h"
#include "train/adamw.h"

namespace cubist {
namespace {

TEST(AdamW, MatchesPyTorchWithClipping) {
  const int steps = 4;
  Tensor w0 = testing::randn({6, 7}, 1);
  NamedTensors inputs{{"w", w0}};
  std::vector<Tensor> grads;
  for (int i = 0; i < steps; ++i) {
    grads.push_back(testing::randn({6, 7}, 10 + i, i == 2 ? 10.0f : 0.1f));  // step 2 is clipped
    inputs.push_back({std::string("g").append(std::to_string(i)), grads.back()});
  }
  auto ref = testing::torch_reference(
      "adamw", inputs, {{"lr", "0.01"}, {"wd", "0.1"}, {"steps", "4"}, {"max_norm", "1.0"}});
  TORCH_OR_SKIP(ref);
  Var w(w0.clone(), true);
  AdamW opt({{"w", w}}, {.lr = 0.01f, .weight_decay = 0.1f});
  std::vector<float> norms;
  for (int i = 0; i < steps; ++i) {
    w.grad() = grads[i].clone();
    norms.push_back(clip_grad_norm(opt.params(), 1.0f));
    opt.step();
  }
  testing::expect_close(w.value(), ref->at("w"), 1e-5f, 1e-6f, "weights after AdamW");
  testing::expect_close(Tensor::from_vector({steps}, norms), ref->at("norms"), 1e-5f, 1e-6f,
                        "gradient norms");
}

TEST(AdamW, NonFiniteGradientIsRefusedAndWeightsKept) {
  Var w(Tensor::full({3}, 1.0f), true);
  w.grad() = Tensor::from_vector({3}, {0.1f, NAN, 0.2f});
  AdamW opt({{"w", w}}, {});
  EXPECT_THROW(clip_grad_norm(opt.params(), 1.0f), Error);
  EXPECT_EQ(w.value().to_vector(), (std::vector<float>{1, 1, 1}));
}

TEST(AdamW, NoDecayParametersAreNotDecayed) {
  Var w(Tensor::full({2}, 1.0f), true);
  w.grad() = Tensor::zeros({2});
  AdamW opt({{"w", w, false}}, {.lr = 0.1f, .weight_decay = 0.5f});
  opt.step();
  EXPECT_EQ(w.value().to_vector(), (std::vector<float>{1, 1}));
}

// Parameters of several sizes, the same on every process, and the gradient of step i (the sum
// over the processes, as sum_gradients leaves it).
struct Model {
  std::vector<NamedParam> params;
  Model() {
    const std::vector<Dims> shapes = {{12}, {7, 3}, {30}, {3}, {4, 5}, {1}};
    for (size_t i = 0; i < shapes.size(); ++i)
      params.push_back({std::string("p").append(std::to_string(i)),
                        Var(testing::randn(shapes[i], static_cast<uint64_t>(i + 1)), true),
                        i % 2 == 0});
  }
  void set_gradients(int step) {
    for (size_t i = 0; i < params.size(); ++i)
      params[i].var.grad() = step % 3 == 2 && i == 1
                                 ? Tensor()  // a parameter without a gradient on one step
                                 : testing::randn(params[i].var.shape(), 100 * step + i);
  }
  std::vector<float> weights() const {
    std::vector<float> all;
    for (const NamedParam& p : params) {
      const std::vector<float> v = p.var.value().to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }
};

constexpr AdamWConfig kSharded{.lr = 0.01f, .weight_decay = 0.1f};

// Steps [from, to) of the model on `opt`.
void take_steps(Model& m, AdamW& opt, int from, int to) {
  for (int i = from; i < to; ++i) {
    m.set_gradients(i);
    opt.step();
  }
}

std::map<std::string, std::vector<float>> values(const NamedTensors& t) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, tensor] : t) out[name] = tensor.to_vector();
  return out;
}

// Every process takes the steps one process takes, bit for bit; rank 0's state() is one
// process's, the others' is empty; each process keeps only its share of the moments; and a
// checkpoint written at step 3 by either resumes either.
void expect_sharded_steps_match(ProcessGroup& g) {
  Model one;
  AdamW whole(one.params, kSharded);
  take_steps(one, whole, 0, 3);
  NamedTensors at3;  // copies: state() holds the live moments
  for (const auto& [name, t] : whole.state()) at3.push_back({name, t.clone()});
  std::vector<Tensor> weights3;
  for (const NamedParam& p : one.params) weights3.push_back(p.var.value().clone());
  take_steps(one, whole, 3, 6);

  Model m;
  AdamW opt(m.params, kSharded);
  opt.shard(g);
  take_steps(m, opt, 0, 3);
  const auto mine3 = values(opt.state());
  take_steps(m, opt, 3, 6);
  EXPECT_EQ(m.weights(), one.weights()) << "rank " << g.rank();
  const NamedTensors mine = opt.state();
  if (g.rank() == 0) {
    EXPECT_EQ(mine3, values(at3));
    EXPECT_EQ(values(mine), values(whole.state()));
  } else {
    EXPECT_TRUE(mine.empty());
  }

  // Moments kept: the owners' shares cover every parameter once.
  const std::vector<int> owner = owners(m.params, g.size());
  int64_t kept = 0, total = 0, largest = 0;
  for (size_t i = 0; i < m.params.size(); ++i) {
    const int64_t n = m.params[i].var.value().numel();
    total += n, largest = std::max(largest, n);
    if (owner[i] == g.rank()) kept += n;
  }
  double share = static_cast<double>(kept);
  g.all_reduce_sum(&share, 1);
  EXPECT_EQ(share, static_cast<double>(total));
  EXPECT_LE(kept, total / g.size() + largest);

  // Resuming from step 3's checkpoint, sharded, ends where one process ends.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("cubist_adamw_shard_" + std::to_string(g.size()) + ".safetensors"))
                               .string();
  if (g.rank() == 0) save_safetensors(path, at3, {});
  g.barrier();
  Model again;
  for (size_t i = 0; i < again.params.size(); ++i) again.params[i].var.value().copy_(weights3[i]);
  AdamW resumed(again.params, kSharded);
  resumed.shard(g);
  resumed.load_state(SafeTensors::open(path), 3);
  take_steps(again, resumed, 3, 6);
  EXPECT_EQ(again.weights(), one.weights()) << "resumed, rank " << g.rank();
  g.barrier();
  if (g.rank() == 0) std::filesystem::remove(path);
}

TEST(AdamW, ShardedMomentsTakeTheStepsOfOneProcess) {
  for (int size : {2, 3}) testing::ThreadGroup::run(size, expect_sharded_steps_match);
}

TEST(AdamW, OwnersBalanceTheShares) {
  Model m;  // sizes 12, 21, 30, 3, 20, 1: largest first, each to the least-loaded process
  EXPECT_EQ(owners(m.params, 1), std::vector<int>(6, 0));
  // 30 -> 0, 21 -> 1, 20 -> 1, 12 -> 0, 3 -> 1, 1 -> 0: 43 and 44 elements
  EXPECT_EQ(owners(m.params, 2), (std::vector<int>{0, 1, 0, 1, 1, 0}));
  // 30 -> 0, 21 -> 1, 20 -> 2, 12 -> 2, 3 -> 1, 1 -> 1: 30, 25 and 32
  EXPECT_EQ(owners(m.params, 3), (std::vector<int>{2, 1, 0, 1, 2, 1}));
}

// Under mpirun (ctest's mpi_data_parallel), through MPI's broadcast.
TEST(Mpi, ShardedMomentsTakeTheStepsOfOneProcess) {
  ProcessGroup& g = world();
  if (g.size() == 1) GTEST_SKIP() << "one process: ctest runs this under mpirun";
  expect_sharded_steps_match(g);
}

}  // namespace
}  // namespace cubist
