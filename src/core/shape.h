// Dims: a tensor's sizes or strides, up to 8 of them, held inline (no heap).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/error.h"

namespace cubist {

class Dims {
 public:
  static constexpr int kMax = 8;

  Dims() = default;
  Dims(std::initializer_list<int64_t> v) { assign(v.begin(), v.end()); }
  explicit Dims(const std::vector<int64_t>& v) { assign(v.begin(), v.end()); }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return v_[i]; }
  int64_t operator[](int i) const { return v_[i]; }
  int64_t back() const { return v_[n_ - 1]; }
  const int64_t* begin() const { return v_; }
  const int64_t* end() const { return v_ + n_; }
  void push_back(int64_t x) {
    CUBIST_CHECK(n_ < kMax, "tensor: at most ", kMax, " dimensions are supported");
    v_[n_++] = x;
  }
  void erase(int i) {
    for (int j = i; j + 1 < n_; ++j) v_[j] = v_[j + 1];
    --n_;
  }
  void insert(int i, int64_t x) {
    push_back(0);
    for (int j = n_ - 1; j > i; --j) v_[j] = v_[j - 1];
    v_[i] = x;
  }
  int64_t numel() const {
    int64_t p = 1;
    for (int i = 0; i < n_; ++i) p *= v_[i];
    return p;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  friend bool operator==(const Dims& a, const Dims& b) {
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.v_[i] != b.v_[i]) return false;
    return true;
  }

  std::string str() const {  // "[2, 3, 4]"
    std::string s = "[";
    for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(v_[i]);
    return s + "]";
  }

 private:
  template <typename It>
  void assign(It b, It e) {
    n_ = 0;
    for (; b != e; ++b) push_back(*b);
  }
  int64_t v_[kMax] = {};
  int n_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Dims& d) { return os << d.str(); }

}  // namespace cubist
