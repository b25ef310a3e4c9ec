#pragma once
// The helpers of the kernels' dispatch layer (engine/ops/*_kernels.cpp, mixup/*_kernels.cpp): the
// CUDA (or oneDNN) call of a build with or without the backend, the device check, the dtype switch, and a
// deterministic parallel sum.
#include <omp.h>

#include <vector>

#include "engine/tensor.h"

namespace mm {

// MM_CUDA_CALL(statement): runs the statement in a build with the CUDA backend (the tensors are
// on the GPU), and throws a clear error in a build without one.
#ifdef MM_WITH_CUDA
#define MM_CUDA_CALL(...) __VA_ARGS__
#else
#define MM_CUDA_CALL(...) throw ::mm::Error("this build has no CUDA backend (configure with -DMM_CUDA=ON)")
#endif
// MM_ONEDNN_CALL(statement): the same for the CPU's optional oneDNN convolutions.
#ifdef MM_WITH_ONEDNN
#define MM_ONEDNN_CALL(...) __VA_ARGS__
#else
#define MM_ONEDNN_CALL(...) throw ::mm::Error("this build has no oneDNN (configure with -DMM_ONEDNN=ON)")
#endif

// Throws unless every defined tensor lives on the device of the first; returns that device.
// A CUDA device also requires float32 (the CUDA kernels' one dtype).
inline Device common_device(std::initializer_list<const Tensor*> tensors, const char* op) {
  const Device d = (*tensors.begin())->device();
  for (const Tensor* t : tensors)
    if (t && t->defined()) {
      MM_CHECK(t->device() == d, "{}: tensors on {} and {} mixed", op, d.str(), t->device().str());
      MM_CHECK(!d.is_cuda() || t->dtype() != DType::F64, "{}: CUDA kernels take float32, got F64", op);
    }
  return d;
}

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

// Deterministic parallel reduction: each thread sums its static share of [0, n) into its own slot
// of `width` doubles via body(i, slot); the slots are then added in thread order. (OpenMP's
// reduction clause and critical sections combine in arbitrary order, which would make training
// runs differ in the last bits and break exact resume.) Returns the `width` totals.
template <class F>
std::vector<double> parallel_sums(int64_t n, int64_t width, F&& body) {
  const int threads = omp_get_max_threads();
  std::vector<std::vector<double>> partial(threads, std::vector<double>(width, 0.0));
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    double* slot = partial[t].data();
    for (int64_t i = n * t / count; i < n * (t + 1) / count; ++i) body(i, slot);
  }
  std::vector<double> total(width, 0.0);
  for (const auto& p : partial)
    for (int64_t k = 0; k < width; ++k) total[k] += p[k];
  return total;
}

}  // namespace mm
