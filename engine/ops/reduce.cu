// The CUDA twins of the reduction kernels (engine/ops/reduce_kernels.h).
#include "engine/cuda/context.cuh"
#include "engine/ops/reduce_kernels.h"

namespace mm::cuda {

void reduce_sum(const math::ReduceShape& shape, const float* x, int64_t n, int64_t outputs, float weight, float* y) {
  if (outputs == 1) {  // one output: 128 slices of the elements, added in order (context.cuh)
    column_reduce(n, 1, [=] __device__(int64_t r, int64_t) { return double(x[r]); }, y, weight, false);
    return;
  }
  const int64_t count = n / outputs;
  map(outputs, [=] __device__(int64_t o) {
    double total = 0;
    for (int64_t j = 0; j < count; ++j) total += x[shape.in_index(o, j)];
    y[o] = float(weight * total);
  });
}

void reduce_sum_backward(const math::ReduceShape& shape, const float* dy, float weight, float* dx, int64_t n) {
  map(n, [=] __device__(int64_t i) { dx[i] += weight * dy[shape.out_index(i)]; });
}

template <class S>
void column_sums(const S* x, int64_t rows, int64_t C, S* out, bool accumulate) {
  column_reduce(rows, C, [=] __device__(int64_t r, int64_t c) { return double(float(x[r * C + c])); }, out, 1.0f, accumulate);
}
template void column_sums<float>(const float*, int64_t, int64_t, float*, bool);
template void column_sums<bf16>(const bf16*, int64_t, int64_t, bf16*, bool);

}  // namespace mm::cuda
