#include "testing.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "autograd/basic.h"
#include "core/parallel.h"
#include "ops/elementwise.h"

namespace cubist::testing {

Tensor randn(const Dims& shape, uint64_t seed, float std) {
  Tensor t = Tensor::empty(shape);
  Generator g(seed);
  g.normal_(t, 0.0f, std);
  return t;
}

Tensor rand_uniform(const Dims& shape, uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(shape);
  Generator g(seed);
  g.uniform_(t, lo, hi);
  return t;
}

void expect_close(const Tensor& a, const Tensor& b, float rtol, float atol,
                  const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what << ": shapes differ";
  const std::vector<float> va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::fabs(double(va[i]) - vb[i]) - (atol + rtol * std::fabs(double(vb[i])));
    if (!(err <= worst)) {  // NaN counts as failing
      worst = std::isnan(err) ? INFINITY : err;
      at = i;
    }
  }
  EXPECT_LE(worst, 0.0) << what << ": element " << at << " is " << va[at] << ", expected " << vb[at]
                        << " (rtol " << rtol << ", atol " << atol << ")";
}

namespace {
double weighted_loss(const VarFn& fn, const std::vector<Var>& inputs, const Tensor& w) {
  NoGrad no_grad;
  const Tensor y = fn(inputs).value().contiguous();
  const std::vector<float> vy = y.to_vector(), vw = w.to_vector();
  double s = 0;
  for (size_t i = 0; i < vy.size(); ++i) s += double(vy[i]) * vw[i];
  return s;
}
}  // namespace

void gradcheck(const VarFn& fn, std::vector<Var> inputs, const GradcheckOptions& opt) {
  Var y = fn(inputs);
  const Tensor w = randn(y.shape(), opt.seed);
  ASSERT_TRUE(y.requires_grad()) << "gradcheck: the output does not require a gradient";
  y.backward(w);
  for (size_t k = 0; k < inputs.size(); ++k) {
    Var& x = inputs[k];
    if (!x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " received no gradient";
    const std::vector<float> analytic = x.grad().to_vector();
    Tensor& v = x.value();
    ASSERT_TRUE(v.is_contiguous() && v.dtype() == DType::F32);
    float* p = v.data<float>();
    const int64_t n = v.numel();
    const int64_t step = std::max<int64_t>(1, n / opt.max_elements);
    for (int64_t i = 0; i < n; i += step) {
      const float orig = p[i];
      p[i] = orig + opt.eps;
      const double lp = weighted_loss(fn, inputs, w);
      p[i] = orig - opt.eps;
      const double lm = weighted_loss(fn, inputs, w);
      p[i] = orig;
      const double numeric = (lp - lm) / (2.0 * opt.eps);
      const double a = analytic[static_cast<size_t>(i)];
      EXPECT_NEAR(a, numeric, opt.atol + opt.rtol * std::fabs(numeric))
          << "input " << k << " element " << i << " of " << v.str();
    }
  }
}

void expect_error(const std::function<void()>& f, const std::string& op, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one from " << op << " mentioning '" << part << "'";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(op), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m;
  }
}

bool torch_available() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  return ok;
}

std::optional<std::map<std::string, Tensor>> torch_reference(
    const std::string& op, const NamedTensors& inputs,
    const std::map<std::string, std::string>& attrs) {
  if (!torch_available()) return std::nullopt;
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("cubist_torch_" + std::to_string(getpid()) + "_" + op);
  fs::create_directories(dir);
  const std::string in = (dir / "in.safetensors").string();
  const std::string out = (dir / "out.safetensors").string();
  save_safetensors(in, inputs, attrs);
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 " << CUBIST_SOURCE_DIR << "/tests/torch_ref " << op << " " << in << " "
      << out << " 2>" << (dir / "err.txt").string();
  const int rc = std::system(cmd.str().c_str());
  if (rc != 0) {
    std::ifstream err(dir / "err.txt");
    std::stringstream why;
    why << err.rdbuf();
    ADD_FAILURE() << "PyTorch reference for '" << op << "' failed (" << cmd.str() << "):\n"
                  << why.str();
    return std::map<std::string, Tensor>{};
  }
  SafeTensors st = SafeTensors::open(out);
  std::map<std::string, Tensor> result;
  for (const std::string& name : st.names()) result[name] = st.get(name).clone();
  fs::remove_all(dir);
  return result;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SingleThread::SingleThread() : before(num_threads()) { set_num_threads(1); }
SingleThread::~SingleThread() { set_num_threads(before); }

}  // namespace cubist::testing
