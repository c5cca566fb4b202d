// Argument checks shared by the kernels: each names the op and says what was expected.
#pragma once

#include "core/error.h"
#include "core/tensor.h"

namespace cubist::ops {

// The kernels read and write contiguous f32 memory; anything else is refused with the op's name.
inline void check_f32(const char* op, const char* arg, const Tensor& t) {
  CUBIST_CHECK(t.defined(), op, ": ", arg, " is undefined");
  CUBIST_CHECK(t.dtype() == DType::F32, op, ": ", arg, " must be f32, got ", t.str(),
               " (convert with .to(DType::F32))");
  CUBIST_CHECK(t.is_contiguous(), op, ": ", arg, " ", t.str(), " must be contiguous");
}

inline void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  CUBIST_CHECK(a.shape() == b.shape(), op, ": shapes differ: ", a.shape(), " and ", b.shape());
}

inline void check_dim(const char* op, const char* arg, const Tensor& t, int ndim) {
  CUBIST_CHECK(t.dim() == ndim, op, ": ", arg, " must be ", ndim, "-d, got shape ", t.shape());
}

}  // namespace cubist::ops
