// The CUDA twins of the mixing kernels (mixup/ops_kernels.h), calling the mixup/mix_math.h
// functions the CPU loops call. Index tensors (perm, its inverse, the box) are I64 on the device.
#include "engine/cuda/context.cuh"
#include "mixup/mix_math.h"
#include "mixup/ops_kernels.h"

namespace mm::cuda {

void mix_pairs(const float* x, const int64_t* perm, const float* lam, int64_t N, int64_t row, float* y) {
  map(N * row, [=] __device__(int64_t q) {
    const int64_t i = q / row, e = q % row;
    y[q] = math::lerp(x[q], x[perm[i] * row + e], lam[0]);
  });
}

void mix_pairs_backward(const float* dy, const int64_t* inverse_perm, const float* lam, int64_t N, int64_t row,
                        float* dx) {
  map(N * row, [=] __device__(int64_t q) {
    const int64_t i = q / row, e = q % row;
    dx[q] += math::lerp(dy[q], dy[inverse_perm[i] * row + e], lam[0]);
  });
}

void inverse_permutation(const int64_t* perm, int64_t N, int64_t* inverse) {
  map(N, [=] __device__(int64_t k) { inverse[perm[k]] = k; });
}

void cutmix_paste(const float* x, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W, int64_t C,
                  float* y) {
  map(N * H * W * C, [=] __device__(int64_t q) {
    const int64_t c = q % C, p = q / C, xx = p % W, yy = (p / W) % H, i = p / (W * H);
    const long long b[4] = {box[0], box[1], box[2], box[3]};
    const int64_t src = math::in_box(yy, xx, b) ? perm[i] : i;
    y[q] = x[((src * H + yy) * W + xx) * C + c];
  });
}

void cutmix_paste_backward(const float* dy, const int64_t* perm, const int64_t* box, int64_t N, int64_t H, int64_t W,
                           int64_t C, float* dx) {
  // every input value went to exactly one output value: the scatter has no collisions
  map(N * H * W * C, [=] __device__(int64_t q) {
    const int64_t c = q % C, p = q / C, xx = p % W, yy = (p / W) % H, i = p / (W * H);
    const long long b[4] = {box[0], box[1], box[2], box[3]};
    const int64_t src = math::in_box(yy, xx, b) ? perm[i] : i;
    dx[((src * H + yy) * W + xx) * C + c] += dy[q];
  });
}

void mix_labels(const int64_t* labels, const float* weights, int64_t r, int64_t m, int64_t n, int64_t c, float* out) {
  map(r * n, [=] __device__(int64_t q) {
    const int64_t j = q / n, k = q % n;
    math::mixed_label_row(labels, weights + j * m * n + k, int(m), int(n), int(c), out + q * c);
  });
}

void dense_row_coefficients(const float* s, int64_t r, int64_t n, float* coef) {
  map(r, [=] __device__(int64_t j) { math::dense_row_coefficients(s + j * n, int(n), int(r), coef + j * n); });
}

}  // namespace mm::cuda
