#pragma once
// The samplers' kernels behind one device-neutral interface: the formulas of mixup/sampler_math.h
// on an mm::Rng per draw on the CPU (mixup/samplers_kernels.cpp), on cuRAND Philox on the GPU
// (mm::cuda below, mixup/samplers.cu). Each draw has its own generator seeded from (seed, index),
// the seed being mm::Seed's (on the GPU math::seed_of(key, salt), read where the kernel runs).
#include <cstdint>

#include "engine/ops/random.h"
#include "engine/tensor.h"

namespace mm::kernels {
// out F32 [count]: Beta(a, b) draws, draw i from generator (seed, i).
void sample_beta(const Seed& seed, double a, double b, Tensor& out);
// perm I64 [m]: a uniformly random permutation.
void sample_permutation(const Seed& seed, Tensor& perm);
// box I64 [4], lam F32 []: a CutMix box of an H x W image and its kept fraction.
void sample_cutmix(const Seed& seed, int64_t H, int64_t W, Tensor& box, Tensor& lam);
// lambda F32 [r, m, n]: column (j, k) ~ Dir(alpha 1_m), alpha ~ U[lo, hi], from generator (seed, j, k).
void sample_dirichlet_columns(const Seed& seed, double lo, double hi, Tensor& lambda);
}  // namespace mm::kernels

namespace mm::cuda {
void sample_beta(const int64_t* key, uint64_t salt, int64_t count, double a, double b, float* out);
void sample_permutation(const int64_t* key, uint64_t salt, int64_t m, int64_t* perm);
void sample_cutmix(const int64_t* key, uint64_t salt, int64_t H, int64_t W, int64_t* box, float* lam);
void sample_dirichlet_columns(const int64_t* key, uint64_t salt, int64_t r, int64_t m, int64_t n, double lo, double hi, float* lambda);
}  // namespace mm::cuda
