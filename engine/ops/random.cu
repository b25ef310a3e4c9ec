// The CUDA twins of the random kernels (engine/ops/random_kernels.h): the same Philox math as the CPU.
#include "engine/cuda/context.cuh"
#include "engine/ops/random_kernels.h"
#include "engine/ops/random_math.h"

namespace mm::cuda {

void random_uniform(const int64_t* key, uint64_t salt, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::uniform_at<float>(math::seed_of(key, salt), uint64_t(i)); });
}

void random_bernoulli(const int64_t* key, uint64_t salt, float p, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::bernoulli_at<float>(math::seed_of(key, salt), uint64_t(i), p); });
}

}  // namespace mm::cuda
