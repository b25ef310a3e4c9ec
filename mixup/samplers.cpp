#include "mixup/samplers.h"

#include <algorithm>
#include <cmath>

#include "mixup/sampler_math.h"
#include "mixup/samplers_kernels.h"

namespace mm {

double sample_gamma(Rng& rng, double alpha) {
  MM_CHECK(alpha > 0, "gamma: alpha must be positive, got {}", alpha);
  return math::sample_gamma(rng, alpha);
}

double sample_beta(Rng& rng, double a, double b) {
  MM_CHECK(a > 0 && b > 0, "beta: parameters must be positive, got {} and {}", a, b);
  return math::sample_beta(rng, a, b);
}

Tensor sample_beta(const Seed& seed, int64_t count, double a, double b, Device device) {
  MM_CHECK(a > 0 && b > 0, "beta: parameters must be positive, got {} and {}", a, b);
  Tensor out = Tensor::empty({count}, DType::F32, device);
  kernels::sample_beta(seed, a, b, out);
  return out;
}

Tensor sample_permutation(const Seed& seed, int64_t m, Device device) {
  MM_CHECK(m >= 1, "permutation: size must be positive, got {}", m);
  Tensor perm = Tensor::empty({m}, DType::I64, device);
  kernels::sample_permutation(seed, perm);
  return perm;
}

CutmixDraw sample_cutmix(const Seed& seed, int64_t H, int64_t W, Device device) {
  MM_CHECK(H >= 1 && W >= 1, "cutmix: image size {}x{} is empty", W, H);
  CutmixDraw d{Tensor::empty({4}, DType::I64, device), Tensor::empty({}, DType::F32, device)};
  kernels::sample_cutmix(seed, H, W, d.box, d.lam);
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

Tensor sample_dirichlet_lambda_per_position(const Seed& seed, int64_t r, int64_t m, int64_t n, double lo, double hi,
                                            Device device) {
  MM_CHECK(m >= 1 && n >= 1 && r >= 1, "dirichlet: sizes must be positive");
  MM_CHECK(0 < lo && lo <= hi, "dirichlet: alpha range [{}, {}] is invalid", lo, hi);
  Tensor lambda = Tensor::empty({r, m, n}, DType::F32, device);
  kernels::sample_dirichlet_columns(seed, lo, hi, lambda);
  return lambda;
}

Tensor sample_dirichlet_lambda(const Seed& seed, int64_t m, int64_t n, double lo, double hi, Device device) {
  return sample_dirichlet_lambda_per_position(seed, 1, m, n, lo, hi, device).view({m, n});
}

}  // namespace mm
