// The CUDA twins of the cross-entropy kernels (engine/ops/loss_kernels.h): a warp per row, its lanes
// taking every 32nd logit (adjacent lanes read adjacent logits, so a warp's loads coalesce), the
// row's sums combined across the warp, then the formulas of engine/ops/loss_math.h; the loss of the
// rows then summed in order (context.cuh).
#include <cmath>

#include "engine/cuda/context.cuh"
#include "engine/ops/loss_kernels.h"
#include "engine/ops/loss_math.h"

namespace mm::cuda {

namespace {
constexpr int kWarp = 32, kRowsPerBlock = 8;  // blocks of 256 threads, a warp per row

// The butterfly combination leaves every lane with the same result (each step adds the same two
// operands on both lanes of a pair), so the lanes agree on the row's sums.
__device__ float warp_max(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Runs row_work(q, lane) for each row q < R on the warp that owns it; a whole warp skips a row
// together (the shuffles need all 32 lanes).
template <class F>
__global__ void rows_kernel(int64_t R, F row_work) {
  const int64_t q = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (q < R) row_work(q, int(threadIdx.x % kWarp));
}
template <class F>
void for_each_row(int64_t R, F row_work) {
  if (R == 0) return;
  rows_kernel<<<unsigned((R + kRowsPerBlock - 1) / kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream()>>>(R, row_work);
  MM_LAUNCH_CHECK();
}

// The largest logit of row zq [C] and sum_c exp(z_c - zmax), on every lane.
struct RowMaxAndExpSum {
  float zmax, sum_exp;
};
__device__ RowMaxAndExpSum row_max_and_exp_sum(const float* zq, int64_t C, int lane) {
  float zmax = -INFINITY;
  for (int64_t c = lane; c < C; c += kWarp) zmax = fmaxf(zmax, zq[c]);
  zmax = warp_max(zmax);
  float sum_exp = 0;
  for (int64_t c = lane; c < C; c += kWarp) sum_exp += math::row_exp(zq[c] - zmax);
  return {zmax, warp_sum(sum_exp)};
}

// The sums of row q that math::xent_from_sums takes, on every lane.
struct RowSums {
  float zmax, sum_exp, sum_t, gap;
};
__device__ RowSums row_sums(const float* z, const int64_t* labels, const float* targets, int64_t q, int64_t C, int lane) {
  const float* zq = z + q * C;
  const RowMaxAndExpSum e = row_max_and_exp_sum(zq, C, lane);
  if (labels) return {e.zmax, e.sum_exp, 1.0f, e.zmax - zq[labels[q]]};
  float sum_t = 0, gap = 0;
  for (int64_t c = lane; c < C; c += kWarp) {
    const float t = targets[q * C + c];
    sum_t += t;
    gap += t * (e.zmax - zq[c]);
  }
  return {e.zmax, e.sum_exp, warp_sum(sum_t), warp_sum(gap)};
}
}  // namespace

void softmax_xent(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R, int64_t C,
                  float* y) {
  Scratch<float> rows(R);
  float* loss_rows = rows.p;
  for_each_row(R, [=] __device__(int64_t q, int lane) {
    if (coef[q] == 0) {  // skipped, as on the CPU (its logits are not read)
      if (lane == 0) loss_rows[q] = 0.0f;
      return;
    }
    const RowSums s = row_sums(z, labels, targets, q, C, lane);
    if (lane == 0) loss_rows[q] = coef[q] * math::xent_from_sums(s.sum_exp, s.sum_t, s.gap);
  });
  column_reduce(R, 1, [=] __device__(int64_t q, int64_t) { return double(loss_rows[q]); }, y, 1.0f, false);
}

void softmax_xent_backward(const float* z, const int64_t* labels, const float* targets, const float* coef, int64_t R,
                           int64_t C, const float* dy, float* dz, bool accumulate) {
  for_each_row(R, [=] __device__(int64_t q, int lane) {
    const float w = coef[q];
    float* row = dz + q * C;
    if (w == 0) {  // no contribution: a new gradient's row is still written
      if (!accumulate)
        for (int64_t c = lane; c < C; c += kWarp) row[c] = 0.0f;
      return;
    }
    const RowSums s = row_sums(z, labels, targets, q, C, lane);
    const float scale = dy[0] * w, target_scale = s.sum_t / s.sum_exp;
    for (int64_t c = lane; c < C; c += kWarp) {
      const float e = math::row_exp(z[q * C + c] - s.zmax);
      const float g = labels ? math::xent_label_gradient(e, s.sum_exp, c == labels[q])
                             : math::xent_gradient(e, target_scale, targets[q * C + c]);
      row[c] = accumulate ? row[c] + scale * g : scale * g;  // a new gradient is not read
    }
  });
}

void softmax(const float* z, int64_t R, int64_t C, float* p) {
  for_each_row(R, [=] __device__(int64_t q, int lane) {
    const float* zq = z + q * C;
    const RowMaxAndExpSum e = row_max_and_exp_sum(zq, C, lane);
    for (int64_t c = lane; c < C; c += kWarp) p[q * C + c] = math::softmax_entry(math::row_exp(zq[c] - e.zmax), e.sum_exp);
  });
}

void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y) {
  map(N * copies * C, [=] __device__(int64_t q) { y[q] = math::one_hot_entry<float>(labels[q / (copies * C)], q % C, C); });
}

}  // namespace mm::cuda
