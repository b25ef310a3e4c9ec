// The samplers' kernels: the dispatch to the device and the CPU loops (GPU: mixup/samplers.cu).
#include "mixup/samplers_kernels.h"

#include "engine/dispatch.h"
#include "engine/rng.h"
#include "mixup/sampler_math.h"

namespace mm::kernels {

void sample_beta(const Seed& s, double a, double b, Tensor& out) {
  const int64_t count = out.numel();
  if (out.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_beta(s.key_on(out.device()), s.salt, count, a, b, out.data<float>()));
  const uint64_t seed = s.value();
  for (int64_t i = 0; i < count; ++i) {
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(i)});
    out.data<float>()[i] = static_cast<float>(math::sample_beta(rng, a, b));
  }
}

void sample_permutation(const Seed& s, Tensor& perm) {
  if (perm.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_permutation(s.key_on(perm.device()), s.salt, perm.numel(), perm.data<int64_t>()));
  Rng rng = seeded_rng({s.value()});
  math::sample_permutation(rng, perm.numel(), perm.data<int64_t>());
}

void sample_cutmix(const Seed& s, int64_t H, int64_t W, Tensor& box, Tensor& lam) {
  if (box.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_cutmix(s.key_on(box.device()), s.salt, H, W, box.data<int64_t>(), lam.data<float>()));
  Rng rng = seeded_rng({s.value()});
  int64_t* b = box.data<int64_t>();
  math::sample_cutmix_box(rng, H, W, math::sample_beta(rng, 1.0, 1.0), b);
  lam.data<float>()[0] = static_cast<float>(math::cutmix_kept_fraction(b, H, W));
}

void sample_dirichlet_columns(const Seed& s, double lo, double hi, Tensor& lambda) {
  const int64_t r = lambda.dim(0), m = lambda.dim(1), n = lambda.dim(2);
  if (lambda.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_dirichlet_columns(s.key_on(lambda.device()), s.salt, r, m, n, lo, hi, lambda.data<float>()));
  const uint64_t seed = s.value();
  float* out = lambda.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < r * n; ++q) {
    const int64_t j = q / n, k = q % n;
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(j), static_cast<uint64_t>(k)});
    math::sample_dirichlet_column(rng, static_cast<int>(m), lo, hi, out + j * m * n + k, n);
  }
}

}  // namespace mm::kernels
