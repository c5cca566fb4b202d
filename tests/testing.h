// Shared test helpers: random inputs, closeness checks, finite-difference gradient checks, and
// the PyTorch reference runner.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "core/rng.h"
#include "io/safetensors.h"

namespace cubist::testing {

Tensor randn(const Dims& shape, uint64_t seed, float std = 1.0f);
Tensor rand_uniform(const Dims& shape, uint64_t seed, float lo, float hi);

// Fails the test (with the worst element, its index and both values) unless
// |a - b| <= atol + rtol * |b| everywhere.
void expect_close(const Tensor& a, const Tensor& b, float rtol, float atol,
                  const std::string& what);

struct GradcheckOptions {
  float eps = 1e-3f;
  float rtol = 2e-2f;
  float atol = 2e-3f;
  int max_elements = 48;  // checked per input, spread over the tensor
  uint64_t seed = 7;
};

using VarFn = std::function<Var(const std::vector<Var>&)>;

// Compares the gradients that backward() gives with central finite differences of
// L = sum(fn(inputs) * W) for a fixed random W, for every input that requires a gradient.
void gradcheck(const VarFn& fn, std::vector<Var> inputs, const GradcheckOptions& opt = {});

// Runs the PyTorch reference for `op` (tests/torch_ref/) on the inputs and returns its outputs
// (forward results and gradients, named as the op's Python side names them). Returns nullopt when
// PyTorch is not installed; TORCH_OR_SKIP turns that into a skipped test that says why.
std::optional<std::map<std::string, Tensor>> torch_reference(
    const std::string& op, const NamedTensors& inputs,
    const std::map<std::string, std::string>& attrs = {});

bool torch_available();

// The message of the cubist::Error that f throws, or "(no error)" when it throws none.
std::string error_message(const std::function<void()>& f);

// RAII: one OpenMP thread in its scope (tests of many tiny steps, which threads only slow down,
// and which a busy machine would stall at every barrier).
struct SingleThread {
  SingleThread();
  ~SingleThread();
  int before;
};

// The whole content of a file (empty if it cannot be read): for byte-for-byte comparisons.
std::string file_bytes(const std::string& path);

// Fails the test unless f throws cubist::Error whose message names `op` and contains `part`.
void expect_error(const std::function<void()>& f, const std::string& op, const std::string& part);

}  // namespace cubist::testing

#define TORCH_OR_SKIP(result_opt)                                                   \
  if (!(result_opt)) {                                                              \
    GTEST_SKIP() << "PyTorch (Debian's python3-torch) is not installed: reference " \
                    "comparison skipped";                                           \
  }
