// Differentiable embedding lookup: rows of table[V, D] picked by integer indices.
#pragma once

#include <cstdint>
#include <span>

#include "autograd/var.h"

namespace cubist {

// -> [indices.size(), D]; the table's gradient is scatter-added. An index outside [0, V) throws.
Var embedding(const Var& table, std::span<const int32_t> indices);

}  // namespace cubist
