#include "mixup/samplers.h"

#include <algorithm>
#include <cmath>

#include "engine/dispatch.h"
#include "mixup/gamma_math.h"
#ifdef MM_WITH_CUDA
#include "mixup/cuda/kernels.h"
#endif

namespace mm {

double sample_gamma(Rng& rng, double alpha) {
  MM_CHECK(alpha > 0, "gamma: alpha must be positive, got {}", alpha);
  return math::sample_gamma(rng, alpha);
}

double sample_beta(Rng& rng, double a, double b) {
  const double x = sample_gamma(rng, a), y = sample_gamma(rng, b);
  return x / (x + y);
}

Tensor sample_permutation(Rng& rng, int64_t m) {
  Tensor perm = Tensor::empty({m}, DType::I64);
  int64_t* p = perm.data<int64_t>();
  for (int64_t i = 0; i < m; ++i) p[i] = i;
  for (int64_t i = m - 1; i > 0; --i) std::swap(p[i], p[rng.below(i + 1)]);
  return perm;
}

Tensor sample_cutmix_box(Rng& rng, int64_t H, int64_t W, double lam) {
  const double ratio = std::sqrt(1.0 - lam);
  const int64_t cut_h = static_cast<int64_t>(H * ratio), cut_w = static_cast<int64_t>(W * ratio);
  const int64_t cy = rng.below(H), cx = rng.below(W);
  return Tensor::from_vector<int64_t>({std::clamp<int64_t>(cy - cut_h / 2, 0, H), std::clamp<int64_t>(cx - cut_w / 2, 0, W),
                                       std::clamp<int64_t>(cy + cut_h / 2, 0, H), std::clamp<int64_t>(cx + cut_w / 2, 0, W)},
                                      {4});
}

double cutmix_lambda(const Tensor& box, int64_t H, int64_t W) {
  const int64_t* b = box.data<int64_t>();
  return 1.0 - double((b[2] - b[0]) * (b[3] - b[1])) / double(H * W);
}

Tensor sample_dirichlet_lambda_per_position(uint64_t seed, int64_t r, int64_t m, int64_t n, double lo, double hi,
                                            Device device) {
  MM_CHECK(m >= 1 && n >= 1 && r >= 1, "dirichlet: sizes must be positive");
  MM_CHECK(0 < lo && lo <= hi, "dirichlet: alpha range [{}, {}] is invalid", lo, hi);
  Tensor lambda = Tensor::empty({r, m, n}, DType::F32, device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::sample_dirichlet_columns(seed, r, m, n, lo, hi, lambda.data<float>()));
    return lambda;
  }
  float* out = lambda.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < r * n; ++q) {
    const int64_t j = q / n, k = q % n;
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(j), static_cast<uint64_t>(k)});
    math::sample_dirichlet_column(rng, static_cast<int>(m), lo, hi, out + j * m * n + k, n);
  }
  return lambda;
}

Tensor sample_dirichlet_lambda(uint64_t seed, int64_t m, int64_t n, double lo, double hi, Device device) {
  return sample_dirichlet_lambda_per_position(seed, 1, m, n, lo, hi, device).view({m, n});
}

}  // namespace mm
