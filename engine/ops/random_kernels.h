#pragma once
// The random kernels behind one device-neutral interface (CPU: engine/ops/random_kernels.cpp;
// GPU: mm::cuda below, engine/ops/random.cu). y[i] = math::uniform_at / bernoulli_at(seed, i).
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {
void random_uniform(uint64_t seed, Tensor& y);
void random_bernoulli(uint64_t seed, double p, Tensor& y);
}  // namespace mm::kernels

namespace mm::cuda {
void random_uniform(uint64_t seed, float* y, int64_t n);
void random_bernoulli(uint64_t seed, float p, float* y, int64_t n);
}  // namespace mm::cuda
