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

// Dirichlet columns: each column's m draws are split over kColumnLanes threads, because one thread
// per column would leave multimix's n = 1000 columns 1000 threads drawing m Gamma variates one
// after the other. A block is 32 adjacent columns (threadIdx.x: a warp writes adjacent entries of a
// row) by kColumnLanes lanes (threadIdx.y). Column q (= j n + k) owns Philox subsequence q: its
// shape comes from offset 0 (the same draw in every lane), lane l's draws, entries l, l + kColumnLanes,
// ..., from offset (l + 1) 2^40 (a lane's draws take far fewer numbers). The column's total is the
// lanes' partial totals added in lane order, so a seed gives the same bits run after run. The CPU
// splits a column over its own lanes (mixup/samplers_kernels.cpp): the distribution is the same.
constexpr unsigned kColumnLanes = 8;

__global__ void dirichlet_columns_kernel(const int64_t* key, uint64_t salt, int64_t columns, int64_t m, int64_t n,
                                         double lo, double hi, float* lambda) {
  __shared__ double partial_totals[kColumnLanes][32];
  const int64_t q = blockIdx.x * int64_t(32) + threadIdx.x;
  const unsigned lane = threadIdx.y;
  float* column = nullptr;
  double total = 0;
  if (q < columns) {
    column = lambda + (q / n) * m * n + q % n;  // entry i at column[i n]
    const uint64_t seed = math::seed_of(key, salt);  // on the device: a replayed CUDA graph reads the step's key
    PhiloxGenerator g;
    curand_init(seed, q, 0, &g.state);
    const math::GammaShape shape = math::dirichlet_column_shape(g, lo, hi);
    curand_init(seed, q, (unsigned long long)(lane + 1) << 40, &g.state);
    for (int64_t i = lane; i < m; i += kColumnLanes) {
      const double x = math::sample_gamma(g, shape);
      column[i * n] = float(x);
      total += x;
    }
  }
  partial_totals[lane][threadIdx.x] = total;
  __syncthreads();
  if (q >= columns) return;
  double column_total = 0;
  for (unsigned l = 0; l < kColumnLanes; ++l) column_total += partial_totals[l][threadIdx.x];
  for (int64_t i = lane; i < m; i += kColumnLanes) column[i * n] = math::dirichlet_entry(column[i * n], column_total);
}

void sample_dirichlet_columns(const int64_t* key, uint64_t salt, int64_t r, int64_t m, int64_t n, double lo, double hi,
                              float* lambda) {
  const int64_t columns = r * n;
  if (columns == 0) return;
  const dim3 block(32, kColumnLanes);  // 32 columns by their lanes
  dirichlet_columns_kernel<<<unsigned((columns + 31) / 32), block, 0, stream()>>>(key, salt, columns, m, n, lo, hi, lambda);
  MM_LAUNCH_CHECK();
}

}  // namespace mm::cuda
