#include "core/tensor.h"

#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "core/parallel.h"

namespace cubist {

Storage::Storage(size_t n, Device dev) : bytes(n), device(dev) {
  CUBIST_CHECK(dev == Device::CPU, "tensor: this build allocates host memory only");
  data = Allocator::cpu().allocate(n);
}

Storage::Storage(void* d, size_t n, std::shared_ptr<void> o)
    : data(d), bytes(n), owner(std::move(o)) {}

Storage::~Storage() {
  if (!owner) Allocator::cpu().release(data, bytes);
}

Dims contiguous_strides(const Dims& shape) {
  Dims s = shape;
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

int wrap_dim(int d, int ndim, const char* op) {
  const int w = d < 0 ? d + ndim : d;
  CUBIST_CHECK(w >= 0 && w < ndim, op, ": dimension ", d, " is out of range for a ", ndim,
               "-d tensor");
  return w;
}

static void check_shape(const Dims& shape) {
  for (int64_t s : shape) CUBIST_CHECK(s >= 0, "tensor: negative size in shape ", shape);
}

Tensor Tensor::empty(const Dims& shape, DType dtype) {
  check_shape(shape);
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), Device::CPU);
  return t;
}

Tensor Tensor::zeros(const Dims& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(const Dims& shape, float value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Dims& shape, const std::vector<float>& values, DType dtype) {
  CUBIST_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "tensor: ", values.size(),
               " values given for shape ", shape, " which holds ", shape.numel());
  Tensor f = wrap(shape, DType::F32, const_cast<float*>(values.data()), std::shared_ptr<void>());
  Tensor t = empty(shape, dtype);
  t.copy_(f);
  return t;
}

Tensor Tensor::wrap(const Dims& shape, DType dtype, void* data, std::shared_ptr<void> owner) {
  check_shape(shape);
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  // A wrapped tensor with no owner must not be released to the allocator: give it a no-op owner.
  if (!owner) owner = std::shared_ptr<void>(data, [](void*) {});
  t.storage_ = std::make_shared<Storage>(data, t.nbytes(), std::move(owner));
  return t;
}

int64_t Tensor::size(int d) const { return shape_[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != acc) return false;
    acc *= shape_[i];
  }
  return true;
}

void* Tensor::raw() const {
  CUBIST_CHECK(defined(), "tensor: access to an undefined tensor");
  return static_cast<char*>(storage_->data) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

template <>
float* Tensor::data<float>() const {
  CUBIST_CHECK(dtype_ == DType::F32, "tensor: asked for f32 data of a ", dtype_name(dtype_),
               " tensor");
  return static_cast<float*>(raw());
}

template <>
uint16_t* Tensor::data<uint16_t>() const {
  CUBIST_CHECK(dtype_ == DType::BF16, "tensor: asked for bf16 data of a ", dtype_name(dtype_),
               " tensor");
  return static_cast<uint16_t*>(raw());
}

static Dims infer_shape(const Dims& want, int64_t numel, const Dims& from) {
  Dims s = want;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      CUBIST_CHECK(infer < 0, "reshape: only one size may be -1, got ", want);
      infer = i;
    } else {
      CUBIST_CHECK(s[i] >= 0, "reshape: negative size in ", want);
      known *= s[i];
    }
  }
  if (infer >= 0) {
    CUBIST_CHECK(known > 0 && numel % known == 0, "reshape: cannot reshape ", from, " into ", want);
    s[infer] = numel / known;
  }
  CUBIST_CHECK(s.numel() == numel, "reshape: cannot reshape ", from, " (", numel,
               " elements) into ", want, " (", s.numel(), " elements)");
  return s;
}

Tensor Tensor::view(const Dims& shape) const {
  CUBIST_CHECK(is_contiguous(), "view: tensor ", str(),
               " is not contiguous; use reshape() or contiguous() first");
  Tensor t = *this;
  t.shape_ = infer_shape(shape, numel(), shape_);
  t.strides_ = contiguous_strides(t.shape_);
  return t;
}

Tensor Tensor::reshape(const Dims& shape) const {
  return is_contiguous() ? view(shape) : contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  CUBIST_CHECK(static_cast<int>(order.size()) == dim(), "permute: order has ", order.size(),
               " entries for a ", dim(), "-d tensor");
  Tensor t = *this;
  bool seen[Dims::kMax] = {};
  for (int i = 0; i < dim(); ++i) {
    const int d = wrap_dim(order[i], dim(), "permute");
    CUBIST_CHECK(!seen[d], "permute: dimension ", d, " appears twice");
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> order(dim());
  for (int i = 0; i < dim(); ++i) order[i] = i;
  std::swap(order[wrap_dim(a, dim(), "transpose")], order[wrap_dim(b, dim(), "transpose")]);
  return permute(order);
}

Tensor Tensor::slice(int d, int64_t start, int64_t end) const {
  d = wrap_dim(d, dim(), "slice");
  CUBIST_CHECK(0 <= start && start <= end && end <= shape_[d], "slice: range [", start, ", ", end,
               ") is outside dimension ", d, " of size ", shape_[d]);
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::select(int d, int64_t i) const {
  d = wrap_dim(d, dim(), "select");
  CUBIST_CHECK(0 <= i && i < shape_[d], "select: index ", i, " is outside dimension ", d,
               " of size ", shape_[d]);
  Tensor t = slice(d, i, i + 1);
  t.shape_.erase(d);
  t.strides_.erase(d);
  return t;
}

Tensor Tensor::unsqueeze(int d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Tensor t = *this;
  t.shape_.insert(d, 1);
  t.strides_.insert(d, d < dim() ? strides_[d] * shape_[d] : 1);
  return t;
}

Tensor Tensor::squeeze(int d) const {
  d = wrap_dim(d, dim(), "squeeze");
  CUBIST_CHECK(shape_[d] == 1, "squeeze: dimension ", d, " has size ", shape_[d], ", not 1");
  Tensor t = *this;
  t.shape_.erase(d);
  t.strides_.erase(d);
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t = empty(shape_, dtype);
  t.copy_(*this);
  return t;
}

namespace {

// Reads element i of a row (stride in elements) as f32, and writes it, whatever the dtype.
inline float load(const void* p, DType t, int64_t i) {
  return t == DType::F32 ? static_cast<const float*>(p)[i]
                         : bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
}
inline void store(void* p, DType t, int64_t i, float v) {
  if (t == DType::F32)
    static_cast<float*>(p)[i] = v;
  else
    static_cast<uint16_t*>(p)[i] = f32_to_bf16(v);
}

// Element offset of row r (all dimensions but the last) in a tensor of the given shape/strides.
inline int64_t row_offset(int64_t r, const Dims& shape, const Dims& strides) {
  int64_t off = 0;
  for (int d = shape.size() - 2; d >= 0; --d) {
    off += (r % shape[d]) * strides[d];
    r /= shape[d];
  }
  return off;
}

}  // namespace

void Tensor::copy_(const Tensor& src) {
  CUBIST_CHECK(src.shape_ == shape_, "copy: source shape ", src.shape_, " differs from ", shape_);
  if (numel() == 0) return;
  if (is_contiguous() && src.is_contiguous() && dtype_ == src.dtype_) {
    std::memmove(raw(), src.raw(), nbytes());
    return;
  }
  if (dim() == 0) {
    store(raw(), dtype_, 0, load(src.raw(), src.dtype_, 0));
    return;
  }
  const int64_t cols = shape_.back(), rows = numel() / cols;
  const int64_t ds = strides_.back(), ss = src.strides_.back();
  const int64_t esz = static_cast<int64_t>(dtype_size(dtype_));
  const int64_t ssz = static_cast<int64_t>(dtype_size(src.dtype_));
  char* dst0 = static_cast<char*>(raw());
  const char* src0 = static_cast<const char*>(src.raw());
  const DType dt = dtype_, st = src.dtype_;
  parallel_for(rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      char* d = dst0 + row_offset(r, shape_, strides_) * esz;
      const char* s = src0 + row_offset(r, src.shape_, src.strides_) * ssz;
      if (dt == DType::F32 && st == DType::F32) {
        float* df = reinterpret_cast<float*>(d);
        const float* sf = reinterpret_cast<const float*>(s);
        for (int64_t c = 0; c < cols; ++c) df[c * ds] = sf[c * ss];
      } else {
        for (int64_t c = 0; c < cols; ++c) store(d, dt, c * ds, load(s, st, c * ss));
      }
    }
  });
}

void Tensor::fill_(float value) {
  if (numel() == 0) return;
  if (is_contiguous() && dtype_ == DType::F32) {
    float* p = data<float>();
    const int64_t n = numel();
    parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = value;
    });
    return;
  }
  Tensor v = wrap({}, DType::F32, &value, std::shared_ptr<void>());
  Tensor one = v.reshape(Dims(std::vector<int64_t>(dim(), 1)));
  for (int d = 0; d < dim(); ++d) one.strides_[d] = 0;  // broadcast the single value
  one.shape_ = shape_;
  copy_(one);
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  Tensor dst = wrap(shape_, DType::F32, out.data(), std::shared_ptr<void>());
  dst.copy_(*this);
  return out;
}

float Tensor::item() const {
  CUBIST_CHECK(numel() == 1, "item: tensor ", str(), " has ", numel(), " elements, not 1");
  return load(raw(), dtype_, 0);
}

std::string Tensor::str() const { return std::string(dtype_name(dtype_)) + shape_.str(); }

}  // namespace cubist
