#include "mixup/samplers.h"

#include <algorithm>
#include <cmath>

namespace mm {

double sample_gamma(Rng& rng, double alpha) {
  MM_CHECK(alpha > 0, "gamma: alpha must be positive, got {}", alpha);
  if (alpha < 1) return sample_gamma(rng, alpha + 1) * std::pow(1.0 - rng.uniform(), 1.0 / alpha);
  // Marsaglia & Tsang (2000): d = alpha - 1/3, v = (1 + c x)^3 with x ~ N(0, 1); the squeeze
  // test accepts most draws without a logarithm (dense MultiMix draws r m n of these per step).
  const double d = alpha - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    const double x = rng.normal(), t = 1.0 + c * x;
    if (t <= 0) continue;
    const double v = t * t * t, u = 1.0 - rng.uniform(), x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d - d * v + d * std::log(v)) return d * v;
  }
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

namespace {
// Fills column k of lambda [m, n] (pointer at row 0) with a Dirichlet(alpha_k 1_m) draw.
void dirichlet_column(Rng rng, int64_t m, int64_t n, double lo, double hi, float* col) {
  const double alpha = rng.uniform(lo, hi);
  std::vector<double> g(m);
  double total = 0;
  for (int64_t i = 0; i < m; ++i) total += g[i] = sample_gamma(rng, alpha);
  for (int64_t i = 0; i < m; ++i) col[i * n] = static_cast<float>(g[i] / total);
}
}  // namespace

Tensor sample_dirichlet_lambda_per_position(uint64_t seed, int64_t r, int64_t m, int64_t n, double lo, double hi) {
  MM_CHECK(m >= 1 && n >= 1 && r >= 1, "dirichlet: sizes must be positive");
  MM_CHECK(0 < lo && lo <= hi, "dirichlet: alpha range [{}, {}] is invalid", lo, hi);
  Tensor lambda = Tensor::empty({r, m, n});
  float* out = lambda.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < r * n; ++q) {
    const int64_t j = q / n, k = q % n;
    dirichlet_column(seeded_rng({seed, static_cast<uint64_t>(j), static_cast<uint64_t>(k)}), m, n, lo, hi,
                     out + j * m * n + k);
  }
  return lambda;
}

Tensor sample_dirichlet_lambda(uint64_t seed, int64_t m, int64_t n, double lo, double hi) {
  return sample_dirichlet_lambda_per_position(seed, 1, m, n, lo, hi).view({m, n});
}

}  // namespace mm
