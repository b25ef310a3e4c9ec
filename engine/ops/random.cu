// The CUDA twins of the random kernels (engine/ops/random_kernels.h): the same Philox math as the CPU.
#include "engine/cuda/context.cuh"
#include "engine/ops/random_kernels.h"
#include "engine/ops/random_math.h"

namespace mm::cuda {

void random_uniform(uint64_t seed, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::uniform_at<float>(seed, uint64_t(i)); });
}

void random_bernoulli(uint64_t seed, float p, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::bernoulli_at<float>(seed, uint64_t(i), p); });
}

}  // namespace mm::cuda
