// The reduction kernels: the dispatch to the device and the CPU loops (CUDA: engine/ops/reduce.cu).
#include "engine/ops/reduce_kernels.h"

#include <array>

#include "engine/dispatch.h"

namespace mm::kernels {

void reduce_sum(const math::ReduceShape& shape, const Tensor& x, double weight, Tensor& y) {
  const int64_t n = x.numel(), outputs = y.numel(), count = outputs ? n / outputs : 0;
  if (y.device().is_cuda())
    return MM_CUDA_CALL(cuda::reduce_sum(shape, x.data<float>(), n, outputs, float(weight), y.data<float>()));
  dispatch_floating(x.dtype(), "sum", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if (outputs == 1) {  // one output: the threads split the elements
      py[0] = T(weight * parallel_sums(n, 1, [&](int64_t i, double* slot) { slot[0] += px[i]; })[0]);
      return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outputs; ++o) {
      double total = 0;
      for (int64_t j = 0; j < count; ++j) total += px[shape.in_index(o, j)];
      py[o] = T(weight * total);
    }
  });
}

void reduce_sum_backward(const math::ReduceShape& shape, const Tensor& dy, double weight, Tensor& dx) {
  const int64_t n = dx.numel();
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(cuda::reduce_sum_backward(shape, dy.data<float>(), float(weight), dx.data<float>(), n));
  dispatch_floating(dx.dtype(), "sum backward", [&](auto t) {
    using T = decltype(t);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) pdx[i] += T(weight) * pdy[shape.out_index(i)];
  });
}

void column_sums(const Tensor& x, int64_t C, Tensor& out, bool accumulate) {
  const int64_t rows = x.numel() / C;
  if (out.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "column_sums", [&](auto s) {
      using S = decltype(s);
      cuda::column_sums(x.data<S>(), rows, C, out.data<S>(), accumulate);
    }));
  if (bf16_as_float32({&x}, {&out}, [&](auto& in, auto& wide) { column_sums(in[0], C, wide[0], accumulate); })) return;
  dispatch_floating(x.dtype(), "column_sums", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    const std::vector<double> sums =
        parallel_column_sums<1>(rows, C, [&](int64_t r, int64_t c) { return std::array<double, 1>{double(px[r * C + c])}; });
    T* po = out.data<T>();
    for (int64_t c = 0; c < C; ++c) po[c] = T(accumulate ? po[c] + sums[c] : sums[c]);
  });
}

}  // namespace mm::kernels
