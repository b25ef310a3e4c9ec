#pragma once
// The Gamma(alpha, 1) sampler, written once for the host (mm::Rng) and the GPU (a cuRAND state):
// G is any generator with uniform() in [0, 1) and normal() ~ N(0, 1).
// Marsaglia & Tsang (2000): d = alpha - 1/3, v = (1 + c x)^3 with x ~ N(0, 1); the squeeze test
// accepts most draws without a logarithm; alpha < 1 through Gamma(alpha + 1) U^(1/alpha).
#include <cmath>

#include "engine/hd.h"

namespace mm::math {

template <class G>
MM_HD double sample_gamma(G& g, double alpha) {
  double boost = 1.0;
  if (alpha < 1.0) {
    boost = pow(1.0 - g.uniform(), 1.0 / alpha);
    alpha += 1.0;
  }
  const double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  while (true) {
    const double x = g.normal(), t = 1.0 + c * x;
    if (t <= 0) continue;
    const double v = t * t * t, u = 1.0 - g.uniform(), x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v * boost;
    if (log(u) < 0.5 * x2 + d - d * v + d * log(v)) return d * v * boost;
  }
}

// One Dirichlet(alpha 1_m) column with alpha ~ U[lo, hi] (SPEC §3): m Gamma draws, normalised.
// Writes col[i * stride], i < m.
template <class G, class T>
MM_HD void sample_dirichlet_column(G& g, int m, double lo, double hi, T* col, long long stride) {
  const double alpha = lo + (hi - lo) * g.uniform();
  double total = 0;
  for (int i = 0; i < m; ++i) {
    const double x = sample_gamma(g, alpha);
    col[i * stride] = T(x);
    total += x;
  }
  for (int i = 0; i < m; ++i) col[i * stride] = T(double(col[i * stride]) / total);
}

}  // namespace mm::math
