#pragma once
// The reduction kernels behind one device-neutral interface (CPU: engine/ops/reduce_kernels.cpp,
// float32 or float64; GPU: mm::cuda below, engine/ops/reduce.cu). Sums are taken in double, in a
// fixed order: a run does not depend on the number of threads.
#include <cstdint>

#include "engine/ops/reduce_math.h"
#include "engine/tensor.h"

namespace mm::kernels {

// y [outputs] = weight * the sum over the reduced axes of x (`count` elements per output).
void reduce_sum(const math::ReduceShape& shape, const Tensor& x, double weight, Tensor& y);
// dx[i] += weight * dy[o(i)].
void reduce_sum_backward(const math::ReduceShape& shape, const Tensor& dy, double weight, Tensor& dx);

// out [C] (=|+=) the sums of the columns of x viewed as [rows, C] (a bias gradient).
void column_sums(const Tensor& x, int64_t C, Tensor& out, bool accumulate);

}  // namespace mm::kernels

namespace mm::cuda {
void reduce_sum(const math::ReduceShape& shape, const float* x, int64_t n, int64_t outputs, float weight, float* y);
void reduce_sum_backward(const math::ReduceShape& shape, const float* dy, float weight, float* dx, int64_t n);
template <class S> void column_sums(const S* x, int64_t rows, int64_t C, S* out, bool accumulate);  // S: float or bf16
}  // namespace mm::cuda
