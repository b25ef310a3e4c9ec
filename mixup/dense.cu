// The CUDA twins of the dense MultiMix kernels (mixup/dense_kernels.h).
#include <cooperative_groups.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "engine/cuda/context.cuh"
#include "mixup/dense_kernels.h"
#include "mixup/mix_math.h"

namespace mm::cuda {

namespace {
// The attention of example i [r], computed by one block (no scratch memory): the query u_i [d] (CAM:
// the classifier row of the label; GAP: the mean over positions) and the scores q_ij = z_ij . u_i
// [r] in shared memory (d + r floats), then the normalisation over the r positions (kind: 0 relu,
// 1 softmax, 2 uniform) by one thread: r is small (16 by default). Every thread of the block must
// call it (it synchronises the block).
__device__ void attention_of_example(int64_t i, const float* z, const float* classifier_weight, const int64_t* labels,
                                     int r, int d, int kind, float* shared, float* a) {
  float *u = shared, *q = shared + d;
  const float* z_i = z + i * r * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x)
    u[e] = classifier_weight ? classifier_weight[labels[i] * d + e] : math::gap_query(z_i, r, d, e);
  __syncthreads();
  for (int j = threadIdx.x; j < r; j += blockDim.x) q[j] = math::attention_score(z_i + j * d, u, d);
  __syncthreads();
  if (threadIdx.x == 0) {
    if (kind == 0) math::normalise_relu(q, r, a + i * r);
    else if (kind == 1) math::normalise_softmax(q, r, a + i * r);
    else math::normalise_uniform(r, a + i * r);
  }
  __syncthreads();  // u and q are free again for the block's next example
}

// The weights of column k at position j (q = j n + k): s[q] and Mtilde^j[:, k].
__device__ void weights_of_column(int64_t q, const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n,
                                  float* mtilde, float* s) {
  const int64_t j = q / n, k = q % n;
  s[q] = math::dense_column(attention + j, int(r), lambda + j * m * n + k, int(m), int(n), mtilde + j * m * n + k);
}

__global__ void dense_attention_kernel(const float* z, const float* classifier_weight, const int64_t* labels, int r,
                                       int d, int kind, float* a) {
  extern __shared__ float shared[];
  attention_of_example(blockIdx.x, z, classifier_weight, labels, r, d, kind, shared, a);
}

// The attention and the weights in one launch (cooperative: every block resident at once). The
// weights of a position need the attention of all m examples, and each attention is normalised over
// all positions of its example, so the grid synchronises between the two phases: first the blocks
// take the examples in turn, then all threads take the r n columns in turn.
__global__ void dense_mixing_weights_kernel(const float* z, const float* classifier_weight, const int64_t* labels,
                                            const float* lambda, int r, int d, int kind, int64_t m, int64_t n,
                                            float* attention, float* mtilde, float* s) {
  extern __shared__ float shared[];
  for (int64_t i = blockIdx.x; i < m; i += gridDim.x)
    attention_of_example(i, z, classifier_weight, labels, r, d, kind, shared, attention);
  cooperative_groups::this_grid().sync();  // every example's attention is written and visible
  const int64_t threads = int64_t(gridDim.x) * blockDim.x;
  for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < r * n; q += threads)
    weights_of_column(q, attention, lambda, r, m, n, mtilde, s);
}

constexpr int kDenseThreads = 128;
size_t attention_shared_bytes(int64_t r, int64_t d) { return size_t(d + r) * sizeof(float); }

// How many blocks of the fused kernel fit on the GPU at once (0: no cooperative launch there),
// asked of the driver once per device and shared-memory size, not at every step.
int cooperative_blocks(size_t shared_bytes) {
  static std::map<std::pair<int, size_t>, int> known;
  static std::mutex mutex;
  int device = 0;
  MM_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find({device, shared_bytes});
  if (it != known.end()) return it->second;
  int cooperative = 0, sms = 0, per_sm = 0;
  MM_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  if (cooperative) {
    MM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    MM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, dense_mixing_weights_kernel, kDenseThreads,
                                                                shared_bytes));
  }
  return known[{device, shared_bytes}] = sms * per_sm;
}
}  // namespace

void dense_attention(const float* z, const float* classifier_weight, const int64_t* labels, int64_t m, int64_t r,
                     int64_t d, int kind, float* a) {
  if (m == 0) return;
  dense_attention_kernel<<<unsigned(m), kDenseThreads, attention_shared_bytes(r, d), stream()>>>(
      z, classifier_weight, labels, int(r), int(d), kind, a);
  MM_LAUNCH_CHECK();
}

void dense_weights(const float* attention, const float* lambda, int64_t r, int64_t m, int64_t n, float* mtilde, float* s) {
  map(r * n, [=] __device__(int64_t q) { weights_of_column(q, attention, lambda, r, m, n, mtilde, s); });
}

void dense_mixing_weights(const float* z, const float* classifier_weight, const int64_t* labels, const float* lambda,
                          int64_t m, int64_t r, int64_t d, int64_t n, int kind, float* attention, float* mtilde,
                          float* s) {
  const size_t shared_bytes = attention_shared_bytes(r, d);
  const int blocks = int(std::min<int64_t>(m, cooperative_blocks(shared_bytes)));
  if (blocks == 0) {  // no examples, or no cooperative launch on this GPU: the same numbers from two kernels
    dense_attention(z, classifier_weight, labels, m, r, d, kind, attention);
    dense_weights(attention, lambda, r, m, n, mtilde, s);
    return;
  }
  int r32 = int(r), d32 = int(d);
  void* args[] = {&z, &classifier_weight, &labels, &lambda, &r32, &d32, &kind, &m, &n, &attention, &mtilde, &s};
  MM_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(dense_mixing_weights_kernel), dim3(blocks),
                                            dim3(kDenseThreads), args, shared_bytes, stream()));
}

}  // namespace mm::cuda
