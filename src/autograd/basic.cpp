#include "autograd/basic.h"

#include "ops/elementwise.h"

namespace cubist {

Var add(const Var& a, const Var& b) {
  return record("add", ops::add(a.value(), b.value()), {a, b}, [](const Tensor& g) {
    return Grads{g, g};
  });
}

Var sub(const Var& a, const Var& b) {
  return record("sub", ops::sub(a.value(), b.value()), {a, b}, [](const Tensor& g) {
    return Grads{g, ops::scale(g, -1.0f)};
  });
}

Var mul(const Var& a, const Var& b) {
  return record("mul", ops::mul(a.value(), b.value()), {a, b},
                [av = a.value(), bv = b.value()](const Tensor& g) {
                  return Grads{ops::mul(g, bv), ops::mul(g, av)};
                });
}

Var scale(const Var& a, float s) {
  return record("scale", ops::scale(a.value(), s), {a},
                [s](const Tensor& g) { return Grads{ops::scale(g, s)}; });
}

Var add_bias(const Var& x, const Var& bias) {
  return record("add_bias", ops::add_bias(x.value(), bias.value()), {x, bias}, [](const Tensor& g) {
    return Grads{g, ops::sum_rows(g)};
  });
}

Var sum(const Var& a) {
  Tensor s = Tensor::full({}, static_cast<float>(ops::sum(a.value())));
  return record("sum", s, {a}, [shape = a.shape()](const Tensor& g) {
    return Grads{Tensor::full(shape, g.item())};
  });
}

Var mean(const Var& a) {
  const float n = static_cast<float>(a.value().numel());
  return scale(sum(a), 1.0f / n);
}

Var reshape(const Var& a, const Dims& shape) {
  return record("reshape", a.value().reshape(shape), {a},
                [from = a.shape()](const Tensor& g) { return Grads{g.reshape(from)}; });
}

Var permute(const Var& a, const std::vector<int>& order) {
  std::vector<int> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    inverse[static_cast<size_t>(wrap_dim(order[i], a.dim(), "permute"))] = static_cast<int>(i);
  return record("permute", a.value().permute(order).contiguous(), {a},
                [inverse](const Tensor& g) { return Grads{g.permute(inverse).contiguous()}; });
}

Var transpose(const Var& a, int d0, int d1) {
  std::vector<int> order(static_cast<size_t>(a.dim()));
  for (int i = 0; i < a.dim(); ++i) order[static_cast<size_t>(i)] = i;
  std::swap(order[static_cast<size_t>(wrap_dim(d0, a.dim(), "transpose"))],
            order[static_cast<size_t>(wrap_dim(d1, a.dim(), "transpose"))]);
  return permute(a, order);
}

Var slice(const Var& a, int dim, int64_t start, int64_t end) {
  return record("slice", a.value().slice(dim, start, end).contiguous(), {a},
                [shape = a.shape(), dim, start, end](const Tensor& g) {
                  Tensor ga = Tensor::zeros(shape);
                  ga.slice(dim, start, end).copy_(g);
                  return Grads{ga};
                });
}

Var concat(const std::vector<Var>& parts, int dim) {
  CUBIST_CHECK(!parts.empty(), "concat: no tensors given");
  const int nd = parts[0].dim();
  dim = wrap_dim(dim, nd, "concat");
  Dims shape = parts[0].shape();
  int64_t total = 0;
  for (const Var& p : parts) {
    CUBIST_CHECK(p.dim() == nd, "concat: shapes ", parts[0].shape(), " and ", p.shape(),
                 " differ in rank");
    for (int d = 0; d < nd; ++d)
      CUBIST_CHECK(d == dim || p.shape()[d] == shape[d], "concat: shapes ", parts[0].shape(),
                   " and ", p.shape(), " differ outside dimension ", dim);
    total += p.shape()[dim];
  }
  shape[dim] = total;
  Tensor out = Tensor::empty(shape);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Var& p : parts) {
    starts.push_back(at);
    out.slice(dim, at, at + p.shape()[dim]).copy_(p.value());
    at += p.shape()[dim];
  }
  return record("concat", out, parts, [starts, parts_n = parts.size(), dim](const Tensor& g) {
    Grads gs;
    for (size_t i = 0; i < parts_n; ++i) {
      const int64_t e = i + 1 < parts_n ? starts[i + 1] : g.size(dim);
      gs.push_back(g.slice(dim, starts[i], e).contiguous());
    }
    return gs;
  });
}

}  // namespace cubist
