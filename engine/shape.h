// A tensor's shape: up to 4 dimensions (NCHW for images).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace gc {

class Shape {
 public:
  static constexpr int kMaxDims = 4;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[at(i)]; }
  int64_t& operator[](int i) { return dims_[at(i)]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  std::vector<int64_t> to_vector() const { return {dims_.begin(), dims_.begin() + rank_}; }
  bool operator==(const Shape& o) const { return to_vector() == o.to_vector(); }
  bool operator!=(const Shape& o) const { return !(*this == o); }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + "]";
  }

 private:
  template <typename It>
  void assign(It first, It last) {
    for (; first != last; ++first) {
      if (rank_ == kMaxDims) throw std::invalid_argument("shape: more than 4 dimensions");
      if (*first < 0) throw std::invalid_argument("shape: negative dimension " + std::to_string(*first));
      dims_[rank_++] = *first;
    }
  }
  int at(int i) const {
    if (i < 0) i += rank_;
    if (i < 0 || i >= rank_)
      throw std::out_of_range("shape " + str() + ": no dimension " + std::to_string(i));
    return i;
  }

  std::array<int64_t, kMaxDims> dims_{};
  int rank_ = 0;
};

}  // namespace gc
