#include <gtest/gtest.h>

#include "engine/optim.h"

namespace mm {
namespace {

// Two SGD steps against the formulas written out by hand (PyTorch's SGD).
TEST(Sgd, MomentumWeightDecayAndNesterov) {
  for (bool nesterov : {false, true}) {
    Tensor p = Tensor::from_vector<double>({1.0, -2.0}, {2}).set_requires_grad(true);
    Sgd opt({p}, SgdOptions{0.1, 0.9, 0.01, nesterov});
    std::vector<double> ref{1.0, -2.0}, buf(2);
    const std::vector<std::vector<double>> grads{{0.5, 0.25}, {-1.0, 2.0}};
    for (int step = 0; step < 2; ++step) {
      p.grad_ref().copy_from(Tensor::from_vector<double>(grads[step], {2}));
      opt.step(0.1);
      for (int i = 0; i < 2; ++i) {
        const double d = grads[step][i] + 0.01 * ref[i];
        buf[i] = step == 0 ? d : 0.9 * buf[i] + d;
        ref[i] -= 0.1 * (nesterov ? d + 0.9 * buf[i] : buf[i]);
      }
      EXPECT_NEAR(p.to_doubles()[0], ref[0], 1e-14);
      EXPECT_NEAR(p.to_doubles()[1], ref[1], 1e-14);
    }
  }
}

TEST(Sgd, ParametersWithoutGradientsAreLeftAlone) {
  Tensor p = Tensor::full({3}, 1.0).set_requires_grad(true);
  Sgd opt({p}, SgdOptions{});
  opt.step(0.1);
  EXPECT_EQ(p.to_doubles(), (std::vector<double>{1, 1, 1}));
}

TEST(Schedule, MultiStepAndCosine) {
  EXPECT_DOUBLE_EQ(multistep_lr(0.1, {2, 4}, 0.1, 0), 0.1);
  EXPECT_DOUBLE_EQ(multistep_lr(0.1, {2, 4}, 0.1, 2), 0.1 * 0.1);
  EXPECT_NEAR(multistep_lr(0.1, {2, 4}, 0.1, 5), 0.001, 1e-15);
  EXPECT_DOUBLE_EQ(cosine_lr(0.1, 10, 0), 0.1);
  EXPECT_NEAR(cosine_lr(0.1, 10, 5), 0.05, 1e-15);
  EXPECT_EQ(default_milestones(2000), (std::vector<int>{500, 1000, 1500}));
  EXPECT_EQ(default_milestones(3), (std::vector<int>{1, 2, 2}));
}

}  // namespace
}  // namespace mm
