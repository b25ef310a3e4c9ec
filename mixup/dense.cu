// The CUDA twins of the dense MultiMix kernels (mixup/dense_kernels.h).
#include "engine/cuda/context.cuh"
#include "mixup/dense_kernels.h"
#include "mixup/mix_math.h"

namespace mm::cuda {

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

}  // namespace mm::cuda
