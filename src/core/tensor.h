// Tensor: an n-d view (shape, strides, offset) over shared storage, in f32 or bf16.
// Views (reshape of a contiguous tensor, permute, transpose, slice) share storage and copy nothing;
// contiguous() and clone() copy. Memory comes from the caching Allocator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"

namespace cubist {

enum class Device : uint8_t { CPU, CUDA };

// A block of memory. Owned by the allocator, or by `owner` for memory that the tensor wraps (a
// memory-mapped file, say).
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  std::shared_ptr<void> owner;

  Storage(size_t bytes, Device device);                            // from the allocator
  Storage(void* data, size_t bytes, std::shared_ptr<void> owner);  // wraps memory
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  static Tensor empty(const Dims& shape, DType dtype = DType::F32);
  static Tensor zeros(const Dims& shape, DType dtype = DType::F32);
  static Tensor full(const Dims& shape, float value, DType dtype = DType::F32);
  static Tensor from_vector(const Dims& shape, const std::vector<float>& values,
                            DType dtype = DType::F32);
  // Wraps existing contiguous memory without copying; `owner` keeps it alive.
  static Tensor wrap(const Dims& shape, DType dtype, void* data, std::shared_ptr<void> owner);

  bool defined() const { return storage_ != nullptr; }
  const Dims& shape() const { return shape_; }
  const Dims& strides() const { return strides_; }
  int dim() const { return shape_.size(); }
  int64_t size(int d) const;  // d < 0 counts from the end
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : Device::CPU; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }

  // Typed pointer to the first element: float for f32, uint16_t for bf16 (checked).
  template <typename T>
  T* data() const;
  void* raw() const;

  // Views. reshape() copies only when the layout does not allow a view; view() never copies.
  // One size may be -1 (inferred).
  Tensor reshape(const Dims& shape) const;
  Tensor view(const Dims& shape) const;
  Tensor permute(const std::vector<int>& order) const;
  Tensor transpose(int a, int b) const;
  Tensor slice(int d, int64_t start, int64_t end) const;  // [start, end) along d
  Tensor select(int d, int64_t i) const;                  // drops dimension d
  Tensor unsqueeze(int d) const;
  Tensor squeeze(int d) const;
  Tensor flatten() const { return reshape({numel()}); }

  Tensor contiguous() const;     // itself if already contiguous
  Tensor clone() const;          // always a new contiguous copy
  Tensor to(DType dtype) const;  // itself if already of that type

  void copy_(const Tensor& src);  // same shape; any strides and dtypes
  void fill_(float value);
  void zero_() { fill_(0.0f); }

  std::vector<float> to_vector() const;  // row-major values as f32
  float item() const;                    // the value of a one-element tensor
  std::string str() const;               // "f32[2, 3]"

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Dims shape_, strides_;
  DType dtype_ = DType::F32;
};

Dims contiguous_strides(const Dims& shape);
// Normalises a possibly negative dimension index for a tensor of `ndim` dimensions (checked).
int wrap_dim(int d, int ndim, const char* op);

}  // namespace cubist
