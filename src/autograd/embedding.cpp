#include "autograd/embedding.h"

#include <vector>

#include "ops/embedding.h"

namespace cubist {

Var embedding(const Var& table, std::span<const int32_t> indices) {
  Tensor out = ops::embedding(table.value(), indices);
  // The indices are copied: the caller's buffer need not outlive the forward pass.
  return record(
      "embedding", out, {table},
      [idx = std::vector<int32_t>(indices.begin(), indices.end()), vocab = table.size(0)](
          const Tensor& g) { return Grads{ops::embedding_backward(g.contiguous(), idx, vocab)}; });
}

}  // namespace cubist
