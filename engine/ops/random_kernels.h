#pragma once
// The random kernels behind one device-neutral interface (CPU: engine/ops/random_kernels.cpp;
// GPU: mm::cuda below, engine/ops/random.cu). y[i] = math::uniform_at / bernoulli_at(seed, i).
#include <cstdint>

#include "engine/ops/random.h"
#include "engine/tensor.h"

namespace mm::kernels {
void random_uniform(const Seed& seed, Tensor& y);
void random_bernoulli(const Seed& seed, double p, Tensor& y);
}  // namespace mm::kernels

// The seed is math::seed_of(key, salt), key on the device (or nullptr).
namespace mm::cuda {
void random_uniform(const int64_t* key, uint64_t salt, float* y, int64_t n);
void random_bernoulli(const int64_t* key, uint64_t salt, float p, float* y, int64_t n);
}  // namespace mm::cuda
