#pragma once
// The index arithmetic of a reduction over chosen axes, written once for the CPU loops and the
// CUDA kernels: an input element's output index, and the input index of the j-th element that an
// output reduces (row-major, up to kMaxDims dimensions).
#include "engine/hd.h"

namespace mm::math {

constexpr int kMaxDims = 8;

struct ReduceShape {
  int ndim = 0;
  long long dims[kMaxDims] = {};
  bool reduced[kMaxDims] = {};

  MM_HD long long out_index(long long i) const {
    long long o = 0, stride = 1;
    for (int k = ndim - 1; k >= 0; --k) {
      const long long index = i % dims[k];
      i /= dims[k];
      if (!reduced[k]) o += index * stride, stride *= dims[k];
    }
    return o;
  }
  MM_HD long long in_index(long long o, long long j) const {
    long long i = 0, stride = 1;
    for (int k = ndim - 1; k >= 0; --k) {
      long long& from = reduced[k] ? j : o;
      i += (from % dims[k]) * stride;
      from /= dims[k];
      stride *= dims[k];
    }
    return i;
  }
};

}  // namespace mm::math
