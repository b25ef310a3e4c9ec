#pragma once
// The samplers of the mixup family, written once for the host (mm::Rng) and the GPU (a cuRAND
// state): G is any generator with uniform() in [0, 1), normal() ~ N(0, 1) and below(n) in [0, n).
//
// Gamma(alpha, 1):
// Marsaglia & Tsang (2000): d = alpha - 1/3, v = (1 + c x)^3 with x ~ N(0, 1); two squeezes
// accept most draws without a logarithm; alpha < 1 through Gamma(alpha + 1) U^(1/alpha).
// A normal draw costs no logarithm either (mm::Rng::normal is a ziggurat).
#include <cmath>
#include <type_traits>

#include "engine/hd.h"

namespace mm::math {

// the C library's, not the tensor ops of namespace mm that a file including this may have declared
using std::log;
using std::sqrt;

// The constants of Gamma(alpha) draws, computed once for the many draws of one alpha (a Dirichlet
// column's m draws): the same values, and so the same draws, as computing them for each draw.
struct GammaShape {
  double d, c;         // d = alpha' - 1/3, c = 1 / sqrt(9 d), alpha' = alpha (+ 1 when boosted)
  bool boosted;        // alpha < 1: the draw of alpha + 1, times U^(1/alpha)
  float inverse_alpha; // 1 / alpha, for the boost
  MM_HD explicit GammaShape(double alpha)
      : d((alpha < 1.0 ? alpha + 1.0 : alpha) - 1.0 / 3.0),
        c(1.0 / sqrt(9.0 * d)),
        boosted(alpha < 1.0),
        inverse_alpha(float(1.0 / alpha)) {}
};

// The pieces of one try of Marsaglia-Tsang, also for several lanes at once (D a vector of doubles,
// mixup/samplers_kernels.cpp): the candidate's t = 1 + c x (none where t <= 0; the draw is d v,
// v = t^3), and whether the uniform u accepts it without a logarithm. The exact test is
// log u < x^2/2 + d - d v + d log v, which (with d c^2 = 1/9 and y = c x) reads log u < 3 d R(y),
// R(y) = log(1 + y) - y + y^2/2 - y^3/3 <= 0, the series' remainder after y^3. Two squeezes pass
// it: Marsaglia and Tsang's u < 1 - 0.0331 x^4 (~92 % of the candidates), and log u <= 2 (u - 1) /
// (u + 1) (0 < u <= 1) below R(y) >= -y^4 / (4 min(1, t)) (the remainder's terms -y^k / k, k >= 4,
// bounded by a geometric series when y < 0), which takes most of the rest: 1-3 % of the
// candidates need the logarithms instead of 8 % (Samplers.GammaSqueezesAcceptOnlyWhatTheExactTestAccepts).
template <class D>
MM_HD D gamma_candidate_t(D x, double c) {
  return 1.0 + c * x;
}
template <class D>
MM_HD auto gamma_accepts_without_log(D x, D t, D u, double c, double d) {
  const D x2 = x * x;
  const auto squeeze = u < 1.0 - 0.0331 * x2 * x2;
  auto second_squeeze = [&] {
    const D y = c * x, y4 = (y * y) * (y * y);
    return 2.0 * (u - 1.0) / (u + 1.0) < -0.75 * d * y4 / (t < 1.0 ? t : 1.0);
  };
  // one draw: the divisions only for the ~8 % that the first squeeze leaves; lanes: both, branch-free
  if constexpr (std::is_same_v<D, double>) return squeeze || second_squeeze();
  else return squeeze | second_squeeze();
}
// A boosted draw's factor U^(1/alpha) from its uniform w, U = 1 - w. In float: half the time of a
// double pow (the largest cost of a Dirichlet draw with alpha < 1 on the CPU), and as precise as
// the float32 draws it goes into.
MM_HD double gamma_boost(double w, float inverse_alpha) { return double(powf(float(1.0 - w), inverse_alpha)); }

template <class G>
MM_HD double sample_gamma(G& g, const GammaShape& s) {
  double boost = 1.0;
  if (s.boosted) boost = gamma_boost(g.uniform(), s.inverse_alpha);
  const double d = s.d;
  while (true) {
    const double x = g.normal(), t = gamma_candidate_t(x, s.c);
    if (t <= 0) continue;
    const double v = t * t * t, u = 1.0 - g.uniform();
    if (gamma_accepts_without_log(x, t, u, s.c, d)) return d * v * boost;
    if (log(u) < 0.5 * (x * x) + d - d * v + d * log(v)) return d * v * boost;
  }
}
template <class G>
MM_HD double sample_gamma(G& g, double alpha) {
  return sample_gamma(g, GammaShape(alpha));
}

// The shape of one Dirichlet(alpha 1_m) column's m Gamma draws (normalised afterwards, docs/math.md §3):
// alpha ~ U[lo, hi], one uniform draw.
template <class G>
MM_HD GammaShape dirichlet_column_shape(G& g, double lo, double hi) {
  return GammaShape(lo + (hi - lo) * g.uniform());
}

// A Dirichlet column's entry from its Gamma draw x (stored in float) and the column's total of the
// draws (in double): the draws normalised to sum to 1.
MM_HD float dirichlet_entry(float x, double total) { return float(double(x) / total); }

// Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b).
template <class G>
MM_HD double sample_beta(G& g, double a, double b) {
  const double x = sample_gamma(g, a), y = sample_gamma(g, b);
  return x / (x + y);
}

// A uniformly random permutation of 0..m-1 (Fisher-Yates) into p[0..m).
template <class G, class I>
MM_HD void sample_permutation(G& g, long long m, I* p) {
  for (long long i = 0; i < m; ++i) p[i] = I(i);
  for (long long i = m - 1; i > 0; --i) {
    const long long j = static_cast<long long>(g.below(static_cast<unsigned long long>(i + 1)));
    const I t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

MM_HD long long clamp_to(long long v, long long hi) { return v < 0 ? 0 : v > hi ? hi : v; }

// The CutMix box (Yun et al.) for mixing weight lam: side ratio sqrt(1 - lam), centre uniform over
// the H x W image, clipped to it. box = (y0, x0, y1, x1), half-open.
template <class G, class I>
MM_HD void sample_cutmix_box(G& g, long long H, long long W, double lam, I* box) {
  const double ratio = sqrt(1.0 - lam);
  const long long cut_h = static_cast<long long>(H * ratio), cut_w = static_cast<long long>(W * ratio);
  const long long cy = static_cast<long long>(g.below(H)), cx = static_cast<long long>(g.below(W));
  box[0] = I(clamp_to(cy - cut_h / 2, H));
  box[1] = I(clamp_to(cx - cut_w / 2, W));
  box[2] = I(clamp_to(cy + cut_h / 2, H));
  box[3] = I(clamp_to(cx + cut_w / 2, W));
}

// The effective CutMix weight, the fraction of x_i that stays: 1 - box area / (H W).
template <class I>
MM_HD double cutmix_kept_fraction(const I* box, long long H, long long W) {
  return 1.0 - double((box[2] - box[0]) * (box[3] - box[1])) / double(H * W);
}

}  // namespace mm::math
