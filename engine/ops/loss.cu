// The CUDA twins of the cross-entropy kernels (engine/ops/loss_kernels.h): one thread per row
// calling the row functions of engine/ops/loss_math.h, then an ordered sum (context.cuh).
#include "engine/cuda/context.cuh"
#include "engine/ops/loss_kernels.h"
#include "engine/ops/loss_math.h"

namespace mm::cuda {

namespace {
// H of row q with its gradient (grad may be null).
__device__ float row_xent(const float* z, const int64_t* labels, const float* targets, int64_t q, int64_t C, float* grad) {
  return labels ? math::softmax_xent_label_row<float>(z + q * C, labels[q], int(C), grad)
                : math::softmax_xent_row<float>(z + q * C, targets + q * C, int(C), grad);
}
}  // namespace

void softmax_xent(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R, int64_t C,
                  float* y) {
  Scratch rows(R);
  float* loss_rows = rows.p;
  map(R, [=] __device__(int64_t q) { loss_rows[q] = coef[q] != 0 ? coef[q] * row_xent(z, labels, targets, q, C, nullptr) : 0.0f; });
  column_reduce(R, 1, [=] __device__(int64_t q, int64_t) { return double(loss_rows[q]); }, y, 1.0f, false);
}

void softmax_xent_backward(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R,
                           int64_t C, const float* dy, float* dz, bool accumulate) {
  Scratch g(R * C);
  float* grad = g.p;
  map(R, [=] __device__(int64_t q) {
    if (coef[q] != 0) row_xent(z, labels, targets, q, C, grad + q * C);
  });
  map(R * C, [=] __device__(int64_t e) {
    const int64_t q = e / C;
    const float v = coef[q] != 0 ? dy[0] * coef[q] * grad[e] : 0.0f;  // grad is unset where coef is 0
    dz[e] = accumulate ? dz[e] + v : v;                                 // a new gradient is not read
  });
}

void softmax(const float* z, int64_t R, int64_t C, float* p) {
  map(R, [=] __device__(int64_t q) { math::softmax_row(z + q * C, int(C), p + q * C); });
}

void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y) {
  map(N * copies * C, [=] __device__(int64_t q) { y[q] = math::one_hot_entry<float>(labels[q / (copies * C)], q % C, C); });
}

}  // namespace mm::cuda
