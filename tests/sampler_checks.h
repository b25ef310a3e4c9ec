#pragma once
// Statistics of the small samplers (Beta, permutations, CutMix boxes) on a given device: the CPU
// tests and the CUDA tests run the same checks, so the cuRAND samplers are held to the same laws.
#include <gtest/gtest.h>

#include <set>

#include "mixup/samplers.h"

namespace mm::testing {

// Beta(a, a): values in [0, 1], mean 1/2, variance 1 / (4 (2a + 1)); the same seed, the same draws.
inline void expect_beta_moments(Device device) {
  for (double a : {0.5, 1.0, 2.0}) {
    const int n = 100000;
    const Tensor draws = sample_beta(40 + static_cast<uint64_t>(a * 10), n, a, a, device);
    ASSERT_EQ(draws.device(), device);
    const std::vector<double> v = draws.to_doubles();
    double s1 = 0, s2 = 0;
    for (double b : v) {
      ASSERT_TRUE(b >= 0 && b <= 1) << b;
      s1 += b, s2 += b * b;
    }
    const double mean = s1 / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.005) << a;
    EXPECT_NEAR(var, 1.0 / (4 * (2 * a + 1)), 0.003) << a;
  }
  EXPECT_EQ(sample_beta(3, 5, 1, 1, device).to_doubles(), sample_beta(3, 5, 1, 1, device).to_doubles());
}

// Permutations of 0..9 that put every value at every position equally often.
inline void expect_uniform_permutations(Device device) {
  std::vector<double> position_sum(10, 0);
  const int trials = 2000;
  for (int t = 0; t < trials; ++t) {
    const Tensor p = sample_permutation(1000 + t, 10, device);
    ASSERT_EQ(p.device(), device);
    const Tensor host = p.to(cpu());
    check_permutation(host, 10, "sampled");
    for (int i = 0; i < 10; ++i) position_sum[i] += host.data<int64_t>()[i];
  }
  for (double s : position_sum) EXPECT_NEAR(s / trials, 4.5, 0.3);
  EXPECT_EQ(sample_permutation(7, 50, device).to_doubles(), sample_permutation(7, 50, device).to_doubles());
}

// CutMix boxes inside the image whose lam is the kept fraction; lam ~ U(0, 1) before clipping, and
// clipping at the border only shrinks boxes, so the mean of lam lies in (0.5, 0.75).
inline void expect_cutmix_boxes(Device device) {
  double lam_sum = 0;
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    const CutmixDraw d = sample_cutmix(2000 + t, 32, 32, device);
    ASSERT_EQ(d.box.device(), device);
    const double lam = d.lam.item();
    ASSERT_NEAR(cutmix_lambda(d.box.to(cpu()), 32, 32), lam, 1e-6);  // checks the box too
    lam_sum += lam;
  }
  EXPECT_GT(lam_sum / trials, 0.5);
  EXPECT_LT(lam_sum / trials, 0.75);
}

}  // namespace mm::testing
