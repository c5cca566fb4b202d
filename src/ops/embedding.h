// Embedding lookup, forward beside backward: rows of a table[V, D] picked by integer indices.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"

namespace cubist::ops {

// out[i] = table[indices[i]] -> [len, D]. Every index must lie in [0, V).
Tensor embedding(const Tensor& table, std::span<const int32_t> indices);

// dtable[v] = sum of dout[i] over the i with indices[i] == v, added in increasing i: the result
// does not depend on the thread count. dout is [len, D]; the result is [V, D].
Tensor embedding_backward(const Tensor& dout, std::span<const int32_t> indices, int64_t vocab);

}  // namespace cubist::ops
