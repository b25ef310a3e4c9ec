// CUDA kernels of the mixing ops; the arithmetic is mixup/mix_math.h and engine/math.h.
#include <curand_kernel.h>

#include "engine/cuda/context.cuh"
#include "engine/cuda/runtime.h"
#include "engine/math.h"
#include "mixup/cuda/kernels.h"
#include "mixup/sampler_math.h"
#include "mixup/mix_math.h"

namespace mm::cuda {

namespace {
// A cuRAND Philox state with the interface mixup/sampler_math.h expects.
struct PhiloxGenerator {
  curandStatePhilox4_32_10_t state;
  __device__ double uniform() { return 1.0 - curand_uniform_double(&state); }  // [0, 1)
  __device__ double normal() { return curand_normal_double(&state); }
  __device__ unsigned long long below(unsigned long long n) {  // [0, n)
    const auto k = static_cast<unsigned long long>(uniform() * double(n));
    return k < n ? k : n - 1;
  }
};
}  // namespace

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

void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int kind, float* a) {
  // Three passes, each with enough threads to fill the GPU: the query u_i [m, d] (CAM: the
  // classifier row of the label; GAP: the mean over positions), the scores q_ij = z_ij . u_i
  // [m, r], and per example the normalisation (kind: 0 relu, 1 softmax, 2 uniform).
  float* u = static_cast<float*>(device_allocate(m * d * sizeof(float)));
  float* q = static_cast<float*>(device_allocate(m * r * sizeof(float)));
  map(m * d, [=] __device__(int64_t p) {
    const int64_t i = p / d, e = p % d;
    u[p] = classifier_weight ? classifier_weight[labels[i] * d + e] : math::gap_query(z + i * r * d, int(r), int(d), int(e));
  });
  map(m * r, [=] __device__(int64_t p) { q[p] = math::attention_score(z + p * d, u + (p / r) * d, int(d)); });
  map(m, [=] __device__(int64_t i) {
    if (kind == 0) math::normalise_relu(q + i * r, int(r), a + i * r);
    else if (kind == 1) math::normalise_softmax(q + i * r, int(r), a + i * r);
    else math::normalise_uniform(int(r), a + i * r);
  });
  device_free(u, m * d * sizeof(float));  // reuse is ordered after these kernels (one stream)
  device_free(q, m * r * sizeof(float));
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


void sample_beta(uint64_t seed, int64_t count, double a, double b, float* out) {
  map(count, [=] __device__(int64_t i) {
    PhiloxGenerator g;
    curand_init(seed, i, 0, &g.state);
    out[i] = float(math::sample_beta(g, a, b));
  });
}

// One thread for each of the next two: m is the batch size, and Fisher-Yates is sequential.
void sample_permutation(uint64_t seed, int64_t m, int64_t* perm) {
  map(1, [=] __device__(int64_t) {
    PhiloxGenerator g;
    curand_init(seed, 0, 0, &g.state);
    math::sample_permutation(g, m, perm);
  });
}

void sample_cutmix(uint64_t seed, int64_t H, int64_t W, int64_t* box, float* lam) {
  map(1, [=] __device__(int64_t) {
    PhiloxGenerator g;
    curand_init(seed, 0, 0, &g.state);
    math::sample_cutmix_box(g, H, W, math::sample_beta(g, 1.0, 1.0), box);
    lam[0] = float(math::cutmix_kept_fraction(box, H, W));
  });
}

void sample_dirichlet_columns(uint64_t seed, int64_t r, int64_t m, int64_t n, double lo, double hi, float* lambda) {
  map(r * n, [=] __device__(int64_t q) {
    PhiloxGenerator g;
    curand_init(seed, q, 0, &g.state);
    const int64_t j = q / n, k = q % n;
    math::sample_dirichlet_column(g, int(m), lo, hi, lambda + j * m * n + k, n);
  });
}

}  // namespace mm::cuda
