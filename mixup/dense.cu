// The CUDA twins of the dense MultiMix kernels (mixup/dense_kernels.h).
#include "engine/cuda/context.cuh"
#include "mixup/dense_kernels.h"
#include "mixup/mix_math.h"

namespace mm::cuda {

namespace {
// One block per example i, all three steps of the attention in one kernel (no scratch memory, one
// launch): the query u_i [d] (CAM: the classifier row of the label; GAP: the mean over positions)
// and the scores q_ij = z_ij . u_i [r] in shared memory, then the normalisation over the r
// positions (kind: 0 relu, 1 softmax, 2 uniform) by one thread: r is small (16 by default).
__global__ void dense_attention_kernel(const float* z, const float* classifier_weight, const int64_t* labels, int r,
                                       int d, int kind, float* a) {
  extern __shared__ float shared[];
  float *u = shared, *q = shared + d;
  const int64_t i = blockIdx.x;
  const float* z_i = z + i * r * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x)
    u[e] = classifier_weight ? classifier_weight[labels[i] * d + e] : math::gap_query(z_i, r, d, e);
  __syncthreads();
  for (int j = threadIdx.x; j < r; j += blockDim.x) q[j] = math::attention_score(z_i + j * d, u, d);
  __syncthreads();
  if (threadIdx.x != 0) return;
  if (kind == 0) math::normalise_relu(q, r, a + i * r);
  else if (kind == 1) math::normalise_softmax(q, r, a + i * r);
  else math::normalise_uniform(r, a + i * r);
}
}  // namespace

void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int kind, float* a) {
  if (m == 0) return;
  dense_attention_kernel<<<unsigned(m), 128, (d + r) * sizeof(float), stream()>>>(z, classifier_weight, labels, int(r),
                                                                                  int(d), kind, a);
  MM_LAUNCH_CHECK();
}

void dense_weights(const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n, float* mtilde, float* s) {
  map(r * n, [=] __device__(int64_t q) {
    const int64_t j = q / n, k = q % n;
    s[q] = math::dense_column(attention + j, int(r), lambda + j * m * n + k, int(m), int(n), mtilde + j * m * n + k);
  });
}

}  // namespace mm::cuda
