// The CUDA twins of the samplers (mixup/samplers_kernels.h): mixup/sampler_math.h on cuRAND Philox.
#include <curand_kernel.h>

#include "engine/cuda/context.cuh"
#include "engine/ops/random_math.h"
#include "mixup/sampler_math.h"
#include "mixup/samplers_kernels.h"

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

void sample_beta(const int64_t* key, uint64_t salt, int64_t count, double a, double b, float* out) {
  map(count, [=] __device__(int64_t i) {
    PhiloxGenerator g;
    curand_init(math::seed_of(key, salt), i, 0, &g.state);
    out[i] = float(math::sample_beta(g, a, b));
  });
}

// One thread for each of the next two: m is the batch size, and Fisher-Yates is sequential.
void sample_permutation(const int64_t* key, uint64_t salt, int64_t m, int64_t* perm) {
  map(1, [=] __device__(int64_t) {
    PhiloxGenerator g;
    curand_init(math::seed_of(key, salt), 0, 0, &g.state);
    math::sample_permutation(g, m, perm);
  });
}

void sample_cutmix(const int64_t* key, uint64_t salt, int64_t H, int64_t W, int64_t* box, float* lam) {
  map(1, [=] __device__(int64_t) {
    PhiloxGenerator g;
    curand_init(math::seed_of(key, salt), 0, 0, &g.state);
    math::sample_cutmix_box(g, H, W, math::sample_beta(g, 1.0, 1.0), box);
    lam[0] = float(math::cutmix_kept_fraction(box, H, W));
  });
}

void sample_dirichlet_columns(const int64_t* key, uint64_t salt, int64_t r, int64_t m, int64_t n, double lo, double hi,
                              float* lambda) {
  map(r * n, [=] __device__(int64_t q) {
    PhiloxGenerator g;
    curand_init(math::seed_of(key, salt), q, 0, &g.state);
    const int64_t j = q / n, k = q % n;
    math::sample_dirichlet_column(g, int(m), lo, hi, lambda + j * m * n + k, n);
  });
}

}  // namespace mm::cuda
