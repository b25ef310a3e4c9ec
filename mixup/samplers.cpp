#include "mixup/samplers.h"

#include <algorithm>
#include <cmath>

#include "engine/dispatch.h"
#include "mixup/sampler_math.h"
#ifdef MM_WITH_CUDA
#include "mixup/cuda/kernels.h"
#endif

namespace mm {

double sample_gamma(Rng& rng, double alpha) {
  MM_CHECK(alpha > 0, "gamma: alpha must be positive, got {}", alpha);
  return math::sample_gamma(rng, alpha);
}

double sample_beta(Rng& rng, double a, double b) {
  MM_CHECK(a > 0 && b > 0, "beta: parameters must be positive, got {} and {}", a, b);
  return math::sample_beta(rng, a, b);
}

Tensor sample_beta(uint64_t seed, int64_t count, double a, double b, Device device) {
  MM_CHECK(a > 0 && b > 0, "beta: parameters must be positive, got {} and {}", a, b);
  Tensor out = Tensor::empty({count}, DType::F32, device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::sample_beta(seed, count, a, b, out.data<float>()));
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(i)});
    out.data<float>()[i] = static_cast<float>(math::sample_beta(rng, a, b));
  }
  return out;
}

Tensor sample_permutation(uint64_t seed, int64_t m, Device device) {
  MM_CHECK(m >= 1, "permutation: size must be positive, got {}", m);
  Tensor perm = Tensor::empty({m}, DType::I64, device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::sample_permutation(seed, m, perm.data<int64_t>()));
    return perm;
  }
  Rng rng = seeded_rng({seed});
  math::sample_permutation(rng, m, perm.data<int64_t>());
  return perm;
}

CutmixDraw sample_cutmix(uint64_t seed, int64_t H, int64_t W, Device device) {
  MM_CHECK(H >= 1 && W >= 1, "cutmix: image size {}x{} is empty", W, H);
  CutmixDraw d{Tensor::empty({4}, DType::I64, device), Tensor::empty({}, DType::F32, device)};
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::sample_cutmix(seed, H, W, d.box.data<int64_t>(), d.lam.data<float>()));
    return d;
  }
  Rng rng = seeded_rng({seed});
  int64_t* box = d.box.data<int64_t>();
  math::sample_cutmix_box(rng, H, W, math::sample_beta(rng, 1.0, 1.0), box);
  d.lam.data<float>()[0] = static_cast<float>(math::cutmix_kept_fraction(box, H, W));
  return d;
}

double cutmix_lambda(const Tensor& box, int64_t H, int64_t W) {
  check_cutmix_box(box, H, W, "cutmix_lambda");
  return math::cutmix_kept_fraction(box.data<int64_t>(), H, W);
}

void check_permutation(const Tensor& perm, int64_t m, const char* what) {
  MM_CHECK(perm.dtype() == DType::I64 && perm.shape() == Shape{m}, "{}: perm must be I64 [{}], got {} {}", what, m,
           dtype_name(perm.dtype()), shape_str(perm.shape()));
  MM_CHECK(perm.device().is_cpu(), "{}: perm must be on the host to be checked", what);
  std::vector<char> seen(m, 0);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t p = perm.data<int64_t>()[i];
    MM_CHECK(p >= 0 && p < m && !seen[p], "{}: perm is not a permutation of 0..{}", what, m - 1);
    seen[p] = 1;
  }
}

void check_cutmix_box(const Tensor& box, int64_t H, int64_t W, const char* what) {
  MM_CHECK(box.dtype() == DType::I64 && box.shape() == Shape{4}, "{}: box must be I64 [4], got {} {}", what,
           dtype_name(box.dtype()), shape_str(box.shape()));
  MM_CHECK(box.device().is_cpu(), "{}: box must be on the host to be checked", what);
  const int64_t* b = box.data<int64_t>();
  MM_CHECK(0 <= b[0] && b[0] <= b[2] && b[2] <= H && 0 <= b[1] && b[1] <= b[3] && b[3] <= W,
           "{}: box ({}, {}, {}, {}) is not inside a {}x{} image", what, b[0], b[1], b[2], b[3], W, H);
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
