// CUDA kernels of the mixing ops; the arithmetic is mixup/mix_math.h and engine/math.h.
#include <curand_kernel.h>

#include "engine/cuda/context.cuh"
#include "engine/cuda/runtime.h"
#include "engine/math.h"
#include "mixup/cuda/kernels.h"
#include "mixup/gamma_math.h"
#include "mixup/mix_math.h"

namespace mm::cuda {

void mix_pairs(const float* x, const int64_t* perm, float lam, int64_t N, int64_t row, float* y) {
  map(N * row, [=] __device__(int64_t q) {
    const int64_t i = q / row, e = q % row;
    y[q] = math::lerp(x[q], x[perm[i] * row + e], lam);
  });
}

void mix_pairs_backward(const float* dy, const int64_t* inverse_perm, float lam, int64_t N, int64_t row, float* dx) {
  map(N * row, [=] __device__(int64_t q) {
    const int64_t i = q / row, e = q % row;
    dx[q] += lam * dy[q] + (1.0f - lam) * dy[inverse_perm[i] * row + e];
  });
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

void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int kind, float* a) {
  // kind: 0 relu, 1 softmax, 2 uniform. One thread per example; r is small (16 by default).
  float* scores = static_cast<float*>(device_allocate(m * r * sizeof(float)));
  map(m, [=] __device__(int64_t i) {
    float* q = scores + i * r;
    for (int64_t j = 0; j < r; ++j) {
      float dot = 0;
      for (int64_t e = 0; e < d; ++e) {
        float u = 0;
        if (classifier_weight) {
          u = classifier_weight[labels[i] * d + e];
        } else {
          for (int64_t k = 0; k < r; ++k) u += z[(i * r + k) * d + e];
          u /= float(r);
        }
        dot += z[(i * r + j) * d + e] * u;
      }
      q[j] = dot;
    }
    if (kind == 0) math::normalise_relu(q, int(r), a + i * r);
    else if (kind == 1) math::normalise_softmax(q, int(r), a + i * r);
    else for (int64_t j = 0; j < r; ++j) a[i * r + j] = 1.0f / float(r);
  });
  device_free(scores, m * r * sizeof(float));
}

void dense_weights(const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n, float* mtilde, float* s) {
  map(r * n, [=] __device__(int64_t q) {
    const int64_t j = q / n, k = q % n;
    s[q] = math::dense_column(attention + j, int(r), lambda + j * m * n + k, int(m), int(n), mtilde + j * m * n + k);
  });
}

void dense_row_coefficients(const float* s, int64_t r, int64_t n, float* coef) {
  map(r, [=] __device__(int64_t j) { math::dense_row_coefficients(s + j * n, int(n), int(r), coef + j * n); });
}

void weighted_xent_rows(const float* z, const float* t, const float* coef, int64_t rows, int64_t C, float* loss_rows) {
  map(rows, [=] __device__(int64_t q) {
    loss_rows[q] = coef[q] > 0 ? coef[q] * math::softmax_xent_row<float>(z + q * C, t + q * C, int(C), nullptr) : 0.0f;
  });
}

void weighted_xent_backward(const float* z, const float* t, const float* coef, int64_t rows, int64_t C,
                            const float* dloss, float* dz) {
  float* grad = static_cast<float*>(device_allocate(rows * C * sizeof(float)));
  map(rows, [=] __device__(int64_t q) {
    if (coef[q] > 0) math::softmax_xent_row<float>(z + q * C, t + q * C, int(C), grad + q * C);
  });
  map(rows * C, [=] __device__(int64_t e) {
    const int64_t q = e / C;
    if (coef[q] > 0) dz[e] += dloss[0] * coef[q] * grad[e];
  });
  device_free(grad, rows * C * sizeof(float));
}

namespace {
// A cuRAND Philox state with the interface math::sample_gamma expects.
struct PhiloxGenerator {
  curandStatePhilox4_32_10_t state;
  __device__ double uniform() { return 1.0 - curand_uniform_double(&state); }  // [0, 1)
  __device__ double normal() { return curand_normal_double(&state); }
};
}  // namespace

void sample_dirichlet_columns(uint64_t seed, int64_t r, int64_t m, int64_t n, double lo, double hi, float* lambda) {
  map(r * n, [=] __device__(int64_t q) {
    PhiloxGenerator g;
    curand_init(seed, q, 0, &g.state);
    const int64_t j = q / n, k = q % n;
    math::sample_dirichlet_column(g, int(m), lo, hi, lambda + j * m * n + k, n);
  });
}

}  // namespace mm::cuda
