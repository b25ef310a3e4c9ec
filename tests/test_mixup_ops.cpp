// The mixing ops: the properties docs/math.md §3 implies, and sampler statistics.
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "engine/ops/random_math.h"
#include "engine/rng.h"
#include "engine/dispatch.h"
#include "mixup/dense.h"
#include "mixup/mix_math.h"
#include "mixup/method.h"
#include "mixup/ops.h"
#include "mixup/sampler_math.h"
#include "mixup/samplers.h"
#include "tests/fixtures.h"
#include "tests/gradcheck.h"
#include "tests/sampler_checks.h"

namespace mm::testing {
namespace {

Tensor as_double(const Tensor& t) { return t.to(DType::F64); }

// The gradient checks of the mixing ops are entries of tests/op_cases.h (test_gradcheck.cpp).

TEST(MixupOps, RejectBadDraws) {
  Tensor x = Tensor::zeros({3, 2});
  EXPECT_THROW(mix_pairs(x, Tensor::from_vector<int64_t>({0, 0, 1}, {3}), 0.5), Error);  // not a permutation
  EXPECT_THROW(cutmix_paste(Tensor::zeros({2, 4, 4, 1}), Tensor::from_vector<int64_t>({1, 0}, {2}),
                            Tensor::from_vector<int64_t>({0, 0, 5, 2}, {4})), Error);  // box outside
  EXPECT_THROW(interpolate(x, Tensor::zeros({2, 4})), Error);
}

// mix_labels is W^T onehot(labels) per position, written without the one-hot matrix.
TEST(MixupOps, MixLabelsIsTheInterpolatedOneHot) {
  Rng rng(5);
  const Tensor labels = Tensor::from_vector<int64_t>({3, 0, 9, 9, 1, 4}, {6});
  for (DType dtype : {DType::F32, DType::F64}) {
    const Tensor w = random_tensor({4, 6, 11}, rng, 0, 1).to(dtype);
    const Tensor expected = interpolate_positions(one_hot_positions(labels, 10, 4).to(dtype), w);
    const Tensor got = mix_labels(labels, 10, w);
    EXPECT_EQ(got.shape(), (Shape{4, 11, 10}));
    EXPECT_EQ(got.dtype(), dtype);
    EXPECT_TRUE(close_relative(got, expected, 1e-6));
  }
  const Tensor w = Tensor::zeros({1, 6, 2});
  EXPECT_THROW(mix_labels(Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 10}, {6}), 10, w), Error);  // label 10 of 10
  EXPECT_THROW(mix_labels(Tensor::from_vector<int64_t>({0, 1, 2, 3, -1, 0}, {6}), 10, w), Error);
  EXPECT_THROW(mix_labels(labels, 10, Tensor::zeros({6, 2})), Error);  // not [r, m, n]
  Tensor trained = Tensor::zeros({1, 6, 2});
  trained.set_requires_grad(true);
  EXPECT_THROW(mix_labels(labels, 10, trained), Error);  // a gradient would be lost silently
}

// The CPU builds dense MultiMix's weights and the mixed labels a block of columns at a time, down
// the rows; the GPU a column at a time (math::dense_column, math::mixed_label_row). Both must give
// the same bits: blocks that do not divide n, a position with no attention at all (s = 0), float32
// and float64.
TEST(MixupOps, RowWiseCpuLoopsGiveTheColumnFormulasBits) {
  Rng rng(9);
  const int64_t r = 3, m = 10, n = 300, classes = 10;
  for (DType dtype : {DType::F32, DType::F64}) {
    std::vector<double> a(m * r);
    for (int64_t q = 0; q < m * r; ++q) a[q] = q % r == 1 ? 0.0 : rng.uniform();  // position 1: s = 0 everywhere
    const Tensor attention = Tensor::from_vector<double>(a, {m, r}).to(dtype);
    const Tensor lambda = random_tensor({r, m, n}, rng, 0, 1).to(dtype);
    const DenseWeights got = dense_weights(attention, lambda);
    const Tensor labels = Tensor::from_vector<int64_t>({3, 0, 9, 9, 1, 4, 7, 3, 3, 2}, {m});
    const Tensor mixed = mix_labels(labels, classes, lambda);
    dispatch_floating(dtype, "test", [&](auto t) {
      using T = decltype(t);
      std::vector<T> mtilde(r * m * n), s(r * n), rows(r * n * classes);
      for (int64_t j = 0; j < r; ++j)
        for (int64_t k = 0; k < n; ++k) {
          s[j * n + k] = math::dense_column(attention.data<T>() + j, int(r), lambda.data<T>() + j * m * n + k, int(m),
                                            int(n), mtilde.data() + j * m * n + k);
          math::mixed_label_row(labels.data<int64_t>(), lambda.data<T>() + j * m * n + k, int(m), int(n), int(classes),
                                rows.data() + (j * n + k) * classes);
        }
      auto same_bits = [](const Tensor& a, const std::vector<T>& b) {
        return a.numel() == int64_t(b.size()) && std::memcmp(a.data<T>(), b.data(), b.size() * sizeof(T)) == 0;
      };
      EXPECT_TRUE(same_bits(got.mtilde, mtilde)) << dtype_name(dtype);
      EXPECT_TRUE(same_bits(got.s, s)) << dtype_name(dtype);
      EXPECT_TRUE(same_bits(mixed, rows)) << dtype_name(dtype);
    });
    EXPECT_EQ(got.s.to_doubles()[n + 7], 0.0);
  }
}

// Columns of Lambda and of Mtilde^j lie on the simplex.
TEST(MixupProperties, ColumnsOnTheSimplex) {
  Tensor lambda = sample_dirichlet_lambda_per_position(7, 3, 10, 50, 0.5, 2.0);
  Rng rng(5);
  Tensor attention = Tensor::empty({10, 3});
  for (int i = 0; i < 10; ++i) {
    double total = 0;
    for (int j = 0; j < 3; ++j) total += attention.data<float>()[i * 3 + j] = float(rng.uniform());
    for (int j = 0; j < 3; ++j) attention.data<float>()[i * 3 + j] /= float(total);
  }
  attention.data<float>()[0] = attention.data<float>()[1] = attention.data<float>()[2] = 0;  // a zero row
  DenseWeights w = dense_weights(attention, lambda);
  for (const Tensor* t : {&lambda, &w.mtilde})
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 50; ++k) {
        double total = 0;
        for (int i = 0; i < 10; ++i) {
          const double v = t->data<float>()[(j * 10 + i) * 50 + k];
          ASSERT_GE(v, 0);
          total += v;
        }
        ASSERT_NEAR(total, 1.0, 1e-5);
      }
}

TEST(MixupProperties, AttentionVariants) {
  Rng rng(6);
  Tensor z = random_tensor({3, 4, 5}, rng).to(DType::F32), labels = Tensor::from_vector<int64_t>({0, 1, 1}, {3});
  Tensor W = random_tensor({2, 5}, rng).to(DType::F32);
  for (Attention kind : {Attention::GapRelu, Attention::GapSoftmax, Attention::CamRelu, Attention::CamSoftmax, Attention::Uniform}) {
    Tensor a = dense_attention(z, labels, W, kind);
    for (int i = 0; i < 3; ++i) {
      double total = 0;
      for (int j = 0; j < 4; ++j) total += a.data<float>()[i * 4 + j];
      EXPECT_NEAR(total, 1.0, 1e-6);
    }
  }
  // the step's one call gives the numbers of the two (every attention, the CAM arguments in place)
  const Tensor lambda = sample_dirichlet_lambda_per_position(8, 4, 3, 7, 0.5, 2.0);
  for (Attention kind : {Attention::GapRelu, Attention::GapSoftmax, Attention::CamRelu, Attention::CamSoftmax, Attention::Uniform}) {
    const DenseWeights apart = dense_weights(dense_attention(z, labels, W, kind), lambda);
    const DenseWeights together = dense_mixing_weights(z, labels, W, kind, lambda);
    EXPECT_EQ(together.mtilde.to_doubles(), apart.mtilde.to_doubles());
    EXPECT_EQ(together.s.to_doubles(), apart.s.to_doubles());
  }
  EXPECT_THROW(dense_mixing_weights(z, labels, W, Attention::GapRelu, Tensor::zeros({4, 2, 7})), Error);  // m = 2, not 3
  EXPECT_THROW(dense_mixing_weights(z, labels, W, Attention::GapRelu, Tensor::zeros({3, 3, 7})), Error);  // r = 3, not 4
  EXPECT_THROW(dense_mixing_weights(z, labels, W, Attention::GapRelu, lambda.to(DType::F64)), Error);
  // all scores non-positive -> uniform (project choice)
  Tensor zero = Tensor::zeros({1, 4, 5});
  EXPECT_EQ(dense_attention(zero, labels, W, Attention::GapRelu).to_doubles(), (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  EXPECT_THROW(parse_attention("bogus"), Error);
}

// A small network and batch for the equivalences below (evaluation-free, training mode).
struct SmallRun {
  std::unique_ptr<Network> net = make_network("preactresnet18", 2, 5, 11);
  Tensor images = random_images(6), labels = Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 0}, {6});
  static Tensor random_images(int m) {
    Rng rng(9);
    return random_tensor({m, 32, 32, 3}, rng).to(DType::F32);
  }
  StepResult run(const MethodConfig& c, const Draws& d) { return mixed_loss(*net, nullptr, images, Tensor(), labels, 5, c, d); }
};

// Lambda for n = m columns that mixes example i with perm(i) by lam: the manifold-mixup draw as a MultiMix one.
Tensor pair_lambda(const Tensor& perm, double lam) {
  const int64_t m = perm.numel();
  Tensor l = Tensor::zeros({m, m});
  for (int64_t k = 0; k < m; ++k) {
    l.data<float>()[k * m + k] += float(lam);
    l.data<float>()[perm.data<int64_t>()[k] * m + k] += float(1 - lam);
  }
  return l;
}

TEST(MixupEquivalences, LogitPathEqualsEmbeddingPath) {
  SmallRun s;
  MethodConfig c;
  c.method = Method::MultiMix;
  Draws d;
  d.method = Method::MultiMix;
  d.lambda = sample_dirichlet_lambda(3, 6, 40, 0.5, 2.0);
  StepResult logit = s.run(c, d);
  c.logit_path = false;
  StepResult embedding = s.run(c, d);
  EXPECT_TRUE(close_relative(logit.logits, embedding.logits, 1e-5));
  EXPECT_NEAR(logit.loss.item(), embedding.loss.item(), 1e-5);
  clear_tape();
}

TEST(MixupEquivalences, MultiMixWithPairLambdaEqualsManifoldMixup) {
  SmallRun s;
  Rng rng(4);
  Draws manifold;
  manifold.method = Method::Manifold;
  manifold.perm = sample_permutation(rng.next_u64(), 6);
  manifold.lam = Tensor::scalar(0.3);
  manifold.layer = 2;
  MethodConfig cm;
  cm.method = Method::Manifold;
  StepResult a = s.run(cm, manifold);
  MethodConfig cmm;
  cmm.method = Method::MultiMix;
  cmm.mix_layer = 2;
  Draws mm_draws;
  mm_draws.method = Method::MultiMix;
  mm_draws.lambda = pair_lambda(manifold.perm, 0.3);
  StepResult b = s.run(cmm, mm_draws);
  EXPECT_TRUE(close_relative(b.logits, a.logits, 1e-5));
  EXPECT_NEAR(a.loss.item(), b.loss.item(), 1e-5);
  clear_tape();
}

TEST(MixupEquivalences, IdentityLambdaEqualsErm) {
  SmallRun s;
  MethodConfig c;
  c.method = Method::MultiMix;
  Draws d;
  d.method = Method::MultiMix;
  d.lambda = pair_lambda(Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 5}, {6}), 1.0);  // I
  StepResult mm = s.run(c, d);
  StepResult erm = s.run(MethodConfig{}, Draws{});
  EXPECT_TRUE(close_relative(mm.logits, erm.logits, 1e-5));
  EXPECT_NEAR(mm.loss.item(), erm.loss.item(), 1e-6);
  clear_tape();
}

TEST(MixupEquivalences, DenseWithOnePositionAndUniformAttentionEqualsMultiMix) {
  SmallRun s;
  MethodConfig c;
  c.method = Method::DenseMultiMix;
  c.dense_resolution = 1;
  c.attention = Attention::Uniform;
  Draws d;
  d.method = Method::DenseMultiMix;
  d.lambda = sample_dirichlet_lambda_per_position(8, 1, 6, 30, 0.5, 2.0);
  StepResult dense = s.run(c, d);
  MethodConfig cm;
  cm.method = Method::MultiMix;
  Draws dm;
  dm.method = Method::MultiMix;
  dm.lambda = d.lambda.view({6, 30});
  StepResult multimix = s.run(cm, dm);
  EXPECT_TRUE(close_relative(dense.logits.view({30, 5}), multimix.logits, 1e-5));
  EXPECT_NEAR(dense.loss.item(), multimix.loss.item(), 1e-5);
  clear_tape();
}

// Rng::normal (the ziggurat): its distribution function at points through the rectangles, the
// wedges and the tail (|x| > 3.44) against Phi, each within 5 binomial standard deviations.
TEST(Samplers, NormalFollowsPhi) {
  Rng rng(11);
  const std::vector<double> points = {-4.0, -3.6, -3.0, -2.0, -1.0, -0.3, 0.0, 0.7, 1.5, 2.5, 3.3, 3.5, 4.2};
  std::vector<int64_t> below(points.size(), 0);
  const int n = 2000000;
  double s1 = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    s1 += x, s2 += x * x;
    for (size_t p = 0; p < points.size(); ++p) below[p] += x < points[p];
  }
  for (size_t p = 0; p < points.size(); ++p) {
    const double phi = 0.5 * std::erfc(-points[p] / std::sqrt(2.0));
    EXPECT_NEAR(double(below[p]) / n, phi, 5 * std::sqrt(phi * (1 - phi) / n) + 1e-6) << "at " << points[p];
  }
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
}

// A seed is its salt, or its salt keyed by a value read from memory (mm::Seed): the same salt with
// another key draws anew (how a replayed CUDA graph gets new draws at every step), the same key
// draws the same.
TEST(Samplers, KeyedSeedsDrawAnewForEachKey) {
  auto key = [](int64_t k) { return Tensor::from_vector<int64_t>(std::vector<int64_t>{k}, {1}); };
  auto draw = [](const Seed& seed) { return sample_dirichlet_lambda(seed, 4, 6, 0.5, 2.0).to_doubles(); };
  EXPECT_EQ(draw(Seed(7, key(1))), draw(Seed(7, key(1))));
  EXPECT_NE(draw(Seed(7, key(1))), draw(Seed(7, key(2))));
  EXPECT_NE(draw(Seed(7, key(1))), draw(Seed(7)));
  EXPECT_EQ(draw(Seed(7)), draw(7));
  EXPECT_EQ(Seed(7, key(1)).value(), math::keyed_seed(1, 7));
  EXPECT_NE(random_bernoulli({64}, 0.5, Seed(3, key(1))).to_doubles(), random_bernoulli({64}, 0.5, Seed(3, key(2))).to_doubles());
  EXPECT_THROW(Seed(7, Tensor::zeros({2}, DType::I64)).value(), Error);  // a key is one I64 value
}

// Samplers: moments against the Gamma, Beta and Dirichlet formulas.
TEST(Samplers, GammaAndBetaMoments) {
  Rng rng(10);
  for (double alpha : {0.3, 1.0, 2.5}) {
    const int n = 200000;
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double g = sample_gamma(rng, alpha);
      s1 += g, s2 += g * g;
    }
    const double mean = s1 / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, alpha, 4 * std::sqrt(alpha / n)) << alpha;  // mean alpha, variance alpha
    EXPECT_NEAR(var, alpha, 0.05 * alpha + 0.02) << alpha;
  }
  for (double a : {1.0, 2.0}) {
    const int n = 100000;
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double b = sample_beta(rng, a, a);
      ASSERT_TRUE(b >= 0 && b <= 1);
      s1 += b, s2 += b * b;
    }
    const double mean = s1 / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.005);
    EXPECT_NEAR(var, 1.0 / (4 * (2 * a + 1)), 0.003);
  }
}

TEST(Samplers, DirichletColumnMoments) {
  // Fixed alpha (lo = hi): E = 1/m, Var = (m - 1) / (m^2 (m alpha + 1)).
  const int m = 8, n = 40000;
  for (double alpha : {0.5, 2.0}) {
    Tensor l = sample_dirichlet_lambda(21, m, n, alpha, alpha);
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < l.numel(); ++i) s1 += l.data<float>()[i], s2 += double(l.data<float>()[i]) * l.data<float>()[i];
    const double mean = s1 / l.numel(), var = s2 / l.numel() - mean * mean;
    const double expected_var = (m - 1.0) / (m * m * (m * alpha + 1));
    EXPECT_NEAR(mean, 1.0 / m, 1e-6);  // columns sum to 1 exactly
    EXPECT_NEAR(var, expected_var, 0.03 * expected_var) << alpha;
  }
  // alpha ~ U[0.5, 2]: the variance is the mixture's, the average of the formula over alpha.
  Tensor l = sample_dirichlet_lambda(22, m, n, 0.5, 2.0);
  double s2 = 0;
  for (int64_t i = 0; i < l.numel(); ++i) s2 += double(l.data<float>()[i]) * l.data<float>()[i];
  double expected = 0;
  for (int q = 0; q < 1000; ++q) {
    const double alpha = 0.5 + 1.5 * (q + 0.5) / 1000;
    expected += (m - 1.0) / (m * m * (m * alpha + 1)) / 1000;
  }
  EXPECT_NEAR(s2 / l.numel() - 1.0 / (m * m), expected, 0.03 * expected);
  // the same seed gives the same draws
  EXPECT_EQ(sample_dirichlet_lambda(5, 4, 7, 0.5, 2).to_doubles(), sample_dirichlet_lambda(5, 4, 7, 0.5, 2).to_doubles());
}

TEST(Samplers, GammaSqueezesAcceptOnlyWhatTheExactTestAccepts) {
  // math::gamma_accepts_without_log against Marsaglia-Tsang's test with logarithms, on the
  // candidates the sampler makes (x normal, u uniform) and on x spread over the whole range t > 0
  Rng rng(12);
  for (double alpha : {0.05, 0.5, 1.0, 1.5, 2.0, 3.0, 50.0}) {
    const math::GammaShape shape(alpha);
    const double d = shape.d, c = shape.c;
    int64_t accepted = 0, candidates = 0;
    for (int i = 0; i < 400000; ++i) {
      const double x = i % 4 ? rng.normal() : (2 * rng.uniform() - 1) / c * 1.5, t = 1.0 + c * x;
      if (t <= 0) continue;
      const double v = t * t * t, u = 1.0 - rng.uniform();
      const bool exact = std::log(u) < 0.5 * (x * x) + d - d * v + d * std::log(v);
      const bool squeezed = math::gamma_accepts_without_log(x, t, u, c, d);
      ASSERT_FALSE(squeezed && !exact) << "alpha " << alpha << " x " << x << " u " << u;
      candidates += 1, accepted += squeezed;
    }
    EXPECT_GT(accepted, candidates / 2) << alpha;  // and they do take most candidates
  }
}

TEST(Samplers, DirichletLanesDrawWhatTheScalarSamplerDraws) {
  // The CPU draws a Dirichlet column in four SIMD lanes (mixup/samplers_kernels.cpp): the column's
  // generator (seed, j, k) draws alpha, then seeds four lane generators; entry i is
  // math::sample_gamma on lane i % 4. A lane whose first try fails falls back to that scalar code.
  // The entries must be bit for bit those of the scalar definition below: for alpha ranges with
  // boosts (alpha < 1), without, with many fallbacks (tiny alpha), and m not a multiple of 4.
  struct Case {
    int64_t r, m, n;
    double lo, hi;
  };
  for (const Case& c : {Case{2, 128, 500, 0.5, 2.0}, Case{3, 7, 13, 0.05, 0.3}, Case{2, 9, 6, 3.0, 50.0},
                        Case{1, 1, 5, 0.5, 2.0}, Case{1, 41, 3, 0.5, 2.0}}) {
    const uint64_t seed = 41;
    const Tensor lambda = sample_dirichlet_lambda_per_position(seed, c.r, c.m, c.n, c.lo, c.hi);
    std::vector<float> expected(c.r * c.m * c.n);
    for (int64_t j = 0; j < c.r; ++j)
      for (int64_t k = 0; k < c.n; ++k) {
        Rng column = seeded_rng({seed, uint64_t(j), uint64_t(k)});
        const math::GammaShape shape = math::dirichlet_column_shape(column, c.lo, c.hi);
        Rng lanes[4] = {Rng(column.next_u64()), Rng(column.next_u64()), Rng(column.next_u64()), Rng(column.next_u64())};
        float* col = expected.data() + j * c.m * c.n + k;
        double total = 0;
        for (int64_t i = 0; i < c.m; ++i) {
          const double x = math::sample_gamma(lanes[i % 4], shape);
          col[i * c.n] = float(x);
          total += x;
        }
        for (int64_t i = 0; i < c.m; ++i) col[i * c.n] = float(double(col[i * c.n]) / total);
      }
    const float* got = lambda.data<float>();
    int64_t differing = 0;
    for (size_t i = 0; i < expected.size(); ++i) differing += std::memcmp(&got[i], &expected[i], sizeof(float)) != 0;
    EXPECT_EQ(differing, 0) << "r " << c.r << " m " << c.m << " n " << c.n << " alpha in [" << c.lo << ", " << c.hi << "]";
  }
}

TEST(Samplers, BetaPermutationsAndBoxes) {
  expect_beta_moments(cpu());
  expect_uniform_permutations(cpu());
  expect_cutmix_boxes(cpu());
}

TEST(Samplers, DrawsFromFilesAreChecked) {
  EXPECT_THROW(check_permutation(Tensor::from_vector<int64_t>({0, 2, 2}, {3}), 3, "f"), Error);
  EXPECT_THROW(check_permutation(Tensor::from_vector<int64_t>({0, 1}, {2}), 3, "f"), Error);
  EXPECT_NO_THROW(check_permutation(Tensor::from_vector<int64_t>({2, 0, 1}, {3}), 3, "f"));
  EXPECT_THROW(check_cutmix_box(Tensor::from_vector<int64_t>({0, 0, 33, 4}, {4}), 32, 32, "f"), Error);
  EXPECT_THROW(check_cutmix_box(Tensor::from_vector<int64_t>({5, 0, 4, 4}, {4}), 32, 32, "f"), Error);
  EXPECT_DOUBLE_EQ(cutmix_lambda(Tensor::from_vector<int64_t>({0, 0, 16, 16}, {4}), 32, 32), 0.75);
}

TEST(Samplers, ScheduleMixesMultiMixAndMixup) {
  auto net = make_network("preactresnet18", 2, 10, 0);
  MethodConfig c;
  c.method = Method::MultiMix;
  c.mix_prob = 0.5;
  c.n = 10;
  Rng rng(13);
  int multimix = 0;
  for (int t = 0; t < 400; ++t) {
    Draws d = sample_draws(c, *net, 8, 32, 32, rng);
    multimix += d.method == Method::MultiMix;
    if (d.method == Method::MultiMix) ASSERT_EQ(d.lambda.shape(), (Shape{8, 10}));
    else ASSERT_TRUE(d.perm.defined());
  }
  EXPECT_NEAR(multimix, 200, 40);
  c.method = Method::DenseMultiMix;
  c.mix_prob = 1.0;
  EXPECT_EQ(sample_draws(c, *net, 8, 32, 32, rng).lambda.shape(), (Shape{16, 8, 10}));
}

}  // namespace
}  // namespace mm::testing
