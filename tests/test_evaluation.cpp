// The evaluation of docs/math.md §4: accuracy counts, OOD detection metrics, embedding metrics, and the
// FGSM and PGD attacks against a PyTorch fixture.
#include <gtest/gtest.h>

#include <cmath>

#include "data/augment.h"
#include "engine/autograd.h"
#include "engine/metrics.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "layers/state_dict.h"
#include "models/attacks.h"
#include "models/network.h"
#include "tests/fixtures.h"

namespace mm::testing {
namespace {

// A NaN logit makes its row wrong, not right: a model with NaN weights scores 0 %, not 100 %.
TEST(TopK, RowsWithNanAreNeverHits) {
  const Tensor labels = Tensor::from_vector<int64_t>({0, 1}, {2});
  const Tensor good = Tensor::from_vector<float>({2, 1, 0, 3}, {2, 2});
  EXPECT_EQ(count_top_k(good, labels, 1), 2);
  const Tensor nan_row = Tensor::from_vector<float>({NAN, 1, 0, 3}, {2, 2});
  EXPECT_EQ(count_top_k(nan_row, labels, 1), 1);
  EXPECT_EQ(count_top_k(nan_row, labels, 2), 1);
}

TEST(OodDetection, HandComputedScores) {
  // ascending: 0.1 (out), 0.4 (in, out), 0.7 (out), 0.8 (in), 0.9 (in)
  const OodDetection r = ood_detection({0.9, 0.8, 0.4}, {0.7, 0.4, 0.1});
  EXPECT_NEAR(r.auroc, 7.5 / 9, 1e-12);               // 3 + 3 + (0 + 0.5 + 1) pairs won
  EXPECT_NEAR(r.detection_accuracy, 5.0 / 6, 1e-12);  // threshold 0.8: TPR 2/3, TNR 1
  EXPECT_NEAR(r.aupr_in, 2.0 / 3 + 1.0 / 3 * 3 / 5, 1e-12);
  EXPECT_NEAR(r.aupr_out, 1.0 / 3 + 1.0 / 3 * 2 / 3 + 1.0 / 3 * 3 / 4, 1e-12);
  const OodDetection perfect = ood_detection({5, 6}, {1, 2, 3});
  EXPECT_EQ(perfect.auroc, 1.0);
  EXPECT_EQ(perfect.detection_accuracy, 1.0);
  EXPECT_EQ(perfect.aupr_in, 1.0);
  EXPECT_EQ(perfect.aupr_out, 1.0);
  EXPECT_NEAR(ood_detection({1, 1}, {1}).auroc, 0.5, 1e-12);  // all tied: chance
  EXPECT_THROW(ood_detection({}, {1}), Error);
  // the curves, thresholds from the top: 0.9, 0.8, 0.7, 0.4 (one in, one out), 0.1
  EXPECT_EQ(r.fpr, (std::vector<double>{0, 0, 0, 1.0 / 3, 2.0 / 3, 1}));
  EXPECT_EQ(r.tpr, (std::vector<double>{0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1, 1}));
  EXPECT_EQ(r.recall, (std::vector<double>{1.0 / 3, 2.0 / 3, 2.0 / 3, 1, 1}));
  EXPECT_EQ(r.precision, (std::vector<double>{1, 1, 2.0 / 3, 3.0 / 5, 0.5}));
  // the trapezoids under the ROC are the AuROC (ties count half, as a diagonal step)
  double area = 0;
  for (size_t i = 1; i < r.fpr.size(); ++i) area += (r.fpr[i] - r.fpr[i - 1]) * (r.tpr[i] + r.tpr[i - 1]) / 2;
  EXPECT_NEAR(area, r.auroc, 1e-12);
}

TEST(EmbeddingMetrics, AlignmentAndUniformityEqualTheirDefinitions) {
  Rng rng(3);
  const int64_t N = 23, d = 5;
  Tensor z = Tensor::empty({N, d});
  Tensor y = Tensor::empty({N}, DType::I64);
  for (int64_t i = 0; i < N * d; ++i) z.data<float>()[i] = float(rng.uniform(-2, 2));
  for (int64_t i = 0; i < N; ++i) y.data<int64_t>()[i] = int64_t(rng.below(3));
  // brute force over pairs on normalised rows
  std::vector<double> e(N * d);
  for (int64_t i = 0; i < N; ++i) {
    double n2 = 0;
    for (int64_t k = 0; k < d; ++k) n2 += double(z.data<float>()[i * d + k]) * z.data<float>()[i * d + k];
    for (int64_t k = 0; k < d; ++k) e[i * d + k] = z.data<float>()[i * d + k] / std::sqrt(n2);
  }
  double same = 0, same_pairs = 0, kernel = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) {
      if (i == j) continue;
      double dist2 = 0;
      for (int64_t k = 0; k < d; ++k) dist2 += (e[i * d + k] - e[j * d + k]) * (e[i * d + k] - e[j * d + k]);
      kernel += std::exp(-2 * dist2);
      if (y.data<int64_t>()[i] == y.data<int64_t>()[j]) same += dist2, same_pairs += 1;
    }
  EXPECT_NEAR(alignment(z, y), same / same_pairs, 1e-9);
  EXPECT_NEAR(uniformity(z), std::log(kernel / (N * (N - 1))), 1e-9);
  // scaling a row changes nothing: the metrics see directions only
  Tensor scaled = z.clone();
  for (int64_t k = 0; k < d; ++k) scaled.data<float>()[k] *= 8;
  EXPECT_NEAR(uniformity(scaled), uniformity(z), 1e-6);
}

TEST(Attacks, ProjectedSignStep) {
  auto step = [](float x, float x0, float g, float s, float r) {
    return projected_sign_step(Tensor::from_vector<float>({x}, {1}), Tensor::from_vector<float>({x0}, {1}),
                               Tensor::from_vector<float>({g}, {1}), s, r)
        .item();
  };
  EXPECT_FLOAT_EQ(step(0.5f, 0.5f, 3.0f, 0.1f, 0.05f), 0.55f);  // held to the ball
  EXPECT_FLOAT_EQ(step(0.5f, 0.5f, -1e-9f, 0.02f, 0.05f), 0.48f);
  EXPECT_FLOAT_EQ(step(0.98f, 0.98f, 1.0f, 0.1f, 0.5f), 1.0f);  // held to valid pixels
  EXPECT_FLOAT_EQ(step(0.01f, 0.0f, -1.0f, 0.1f, 0.5f), 0.0f);
  EXPECT_FLOAT_EQ(step(0.3f, 0.32f, 0.0f, 0.1f, 0.5f), 0.3f);  // no gradient, no move
}

// FGSM and PGD against PyTorch in float64. A gradient component within rounding of zero may take
// the other sign in float32, so a few pixels may differ by a whole step; everything else agrees.
TEST(Attacks, FgsmAndPgdMatchPyTorch) {
  const TensorFile f = load_fixture("attacks_preactresnet18", "1", "make_attack_fixtures.py");
  auto net = make_network(f.metadata.at("model"), std::stoi(f.metadata.at("width")),
                          std::stoi(f.metadata.at("num_classes")), 0);
  load_state_dict(*net, f, "weights.");
  net->train(false);
  for (const Tensor& p : net->parameters()) Tensor(p).set_requires_grad(false);
  const PixelClassifier logits_of = [&](const Tensor& x) { return net->forward(normalise_pixels(x)); };
  const Tensor x = nchw_to_nhwc(f.at("images")), labels = f.at("labels");
  EXPECT_TRUE(close_relative(logits_of(x), f.at("clean_logits"), 1e-5));
  auto expect_adversarial = [&](const Tensor& adv, const std::string& name, double eps) {
    const std::vector<double> a = adv.to_doubles(), e = nchw_to_nhwc(f.at(name)).to_doubles(),
                              clean = x.to_doubles();
    int64_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_LE(std::abs(a[i] - clean[i]), eps + 1e-6) << name << ": outside the ball at " << i;
      ASSERT_TRUE(0 <= a[i] && a[i] <= 1) << name << ": not a pixel at " << i;
      differ += std::abs(a[i] - e[i]) > 1e-5;
    }
    EXPECT_LE(differ, int64_t(a.size()) / 1000) << name << ": pixels that differ from PyTorch's";
    NoGrad no_grad;
    EXPECT_TRUE(close_relative(logits_of(adv), f.at(name + "_logits"), 1e-3)) << name;
  };
  const double fgsm_eps = std::stod(f.metadata.at("fgsm_eps")), pgd_eps = std::stod(f.metadata.at("pgd_eps"));
  expect_adversarial(fgsm(logits_of, x, labels, fgsm_eps), "fgsm", fgsm_eps);
  expect_adversarial(pgd(logits_of, x, labels, pgd_eps, std::stod(f.metadata.at("pgd_step")),
                         std::stoi(f.metadata.at("pgd_steps")), nchw_to_nhwc(f.at("start"))),
                     "pgd", pgd_eps);
  EXPECT_EQ(tape_size(), 0u);
}

TEST(Attacks, PgdStartIsUniformInTheBallAndPerImage) {
  const Tensor s = sample_pgd_start({100, 10, 10}, 0.25, 1, 0);
  const std::vector<double> v = s.to_doubles();
  double mean = 0, var = 0;
  for (double x : v) {
    ASSERT_LE(std::abs(x), 0.25);
    mean += x / v.size();
  }
  for (double x : v) var += (x - mean) * (x - mean) / v.size();
  EXPECT_NEAR(mean, 0, 0.01);
  EXPECT_NEAR(var, 0.25 * 0.25 / 3, 0.002);
  // images 7 and 8 get the same start in a batch of their own
  EXPECT_EQ(sample_pgd_start({2, 10, 10}, 0.25, 1, 7).to_doubles(), std::vector<double>(v.begin() + 700, v.begin() + 900));
  EXPECT_NE(sample_pgd_start({2, 10, 10}, 0.25, 2, 7).to_doubles(), std::vector<double>(v.begin() + 700, v.begin() + 900));
}

}  // namespace
}  // namespace mm::testing
