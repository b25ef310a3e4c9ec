#pragma once
// Helpers that route an op to the kernel for its dtype and device.
#include <omp.h>

#include "engine/tensor.h"

namespace mm {

// Calls f(T{}) with T = float or double according to the dtype.
template <class F>
void dispatch_floating(DType dtype, const char* op, F&& f) {
  if (dtype == DType::F32) {
    f(float{});
  } else if (dtype == DType::F64) {
    f(double{});
  } else {
    throw Error(fmt::format("{}: expected a floating tensor, got {}", op, dtype_name(dtype)));
  }
}

// Throws unless every defined tensor lives on `device`.
inline void check_device(std::initializer_list<const Tensor*> tensors, Device device, const char* op) {
  for (const Tensor* t : tensors)
    if (t && t->defined())
      MM_CHECK(t->device() == device, "{}: tensors on {} and {} mixed", op, device.str(), t->device().str());
}

// The CUDA kernels of an op are float32 only; the CPU ones take float and double.
inline void check_cuda_dtype(const Tensor& t, const char* op) {
  MM_CHECK(t.dtype() == DType::F32, "{}: CUDA kernels take float32, got {}", op, dtype_name(t.dtype()));
}

// Splits [0, n) among the OpenMP threads; the body gets [begin, end).
template <class F>
void parallel_for(int64_t n, F&& body) {
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    if (begin < end) body(begin, end);
  }
}

}  // namespace mm
