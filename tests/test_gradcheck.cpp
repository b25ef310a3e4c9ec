// Every differentiable op checked against central differences in double precision: the entries of
// tests/op_cases.h, and a few compositions.
#include <algorithm>
#include <cmath>

#include "engine/ops/random_math.h"
#include "tests/op_cases.h"

namespace mm::testing {
namespace {

// Every entry of the op list (tests/op_cases.h) against central differences.
class OpGradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpGradcheck, MatchesFiniteDifferences) {
  Rng rng(1);
  std::vector<Tensor> inputs = GetParam().inputs(rng);
  ASSERT_TRUE(std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); }))
      << "a differentiable case checks at least one input";
  check_gradients(GetParam().op, inputs);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpGradcheck, ::testing::ValuesIn(op_cases()), op_case_name);

TEST(Gradcheck, AddSameTensorTwice) {
  Rng rng(2);
  check_gradients([](auto& in) { return add(in[0], in[0]); }, {param(random_tensor({5}, rng))});
}

// Batch norm buffers of the given dtype and width.
BatchNormBuffers fresh_buffers(int64_t C) {
  return {Tensor::zeros({C}, DType::F64), Tensor::full({C}, 1.0, DType::F64), Tensor::zeros({}, DType::I64)};
}

// The fused batch norm + ReLU computes what relu(batch_norm(x)) computes, to the last bit, in both
// modes and dtypes: outputs, every gradient, and the running statistics.
TEST(BatchNormRelu, SameNumbersAsReluOfBatchNorm) {
  for (DType dtype : {DType::F32, DType::F64})
    for (bool training : {true, false}) {
      Rng rng(4);
      const Tensor x0 = random_tensor({4, 3, 3, 5}, rng).to(dtype), g0 = random_tensor({5}, rng, 0.5, 1.5).to(dtype);
      const Tensor b0 = random_tensor({5}, rng).to(dtype), w = random_tensor({4, 3, 3, 5}, rng).to(dtype);
      std::vector<std::vector<double>> results[2];
      for (int fused = 0; fused < 2; ++fused) {
        Tensor x = x0.clone().set_requires_grad(true), g = g0.clone().set_requires_grad(true);
        Tensor b = b0.clone().set_requires_grad(true);
        BatchNormBuffers buffers{Tensor::zeros({5}, dtype), Tensor::full({5}, 1.0, dtype), Tensor::zeros({}, DType::I64)};
        const Tensor y = fused ? batch_norm(x, g, b, buffers, training, 0.1, 1e-5, true)
                               : relu(batch_norm(x, g, b, buffers, training, 0.1, 1e-5));
        backward(sum(mul(y, w)));
        results[fused] = {y.to_doubles(), x.grad().to_doubles(), g.grad().to_doubles(), b.grad().to_doubles(),
                          buffers.running_mean.to_doubles(), buffers.running_var.to_doubles()};
      }
      EXPECT_EQ(results[0], results[1]) << dtype_name(dtype) << (training ? " training" : " evaluation");
    }
}

// The values of the primitives a layer author builds from (their gradients: the op list).
TEST(Ops, PrimitiveValues) {
  const Tensor a = Tensor::from_vector<double>({1, 4, 9, 16, 25, 36}, {2, 3}), b = Tensor::from_vector<double>({2, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sub(a, b).to_doubles(), (std::vector<double>{-1, 2, 6, 12, 20, 30}));
  EXPECT_EQ(div(a, b).to_doubles(), (std::vector<double>{0.5, 2, 3, 4, 5, 6}));
  EXPECT_EQ(sqrt(a).to_doubles(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(rsqrt(a).to_doubles(), (std::vector<double>{1, 0.5, 1.0 / 3, 0.25, 0.2, 1.0 / 6}));
  EXPECT_DOUBLE_EQ(exp(a).to_doubles()[1], std::exp(4.0));
  EXPECT_DOUBLE_EQ(log(a).to_doubles()[2], std::log(9.0));
  const Tensor v = Tensor::from_vector<double>({10, 20, 30}, {3});
  EXPECT_EQ(channel_add(a, v).to_doubles(), (std::vector<double>{11, 24, 39, 26, 45, 66}));
  EXPECT_EQ(channel_mul(a, v).to_doubles(), (std::vector<double>{10, 80, 270, 160, 500, 1080}));
}

// Sums over chosen axes against loops: y[i][k] = sum_j x[i][j][k], and the mean over axes 0 and 2.
TEST(Ops, ReductionsOverAxes) {
  Rng rng(21);
  const Tensor x = random_tensor({2, 3, 4}, rng);
  const std::vector<double> v = x.to_doubles();
  const Tensor s = sum(x, {1});
  ASSERT_EQ(s.shape(), (Shape{2, 4}));
  const Tensor m = mean(x, {0, -1});
  ASSERT_EQ(m.shape(), (Shape{3}));
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double total = 0;
      for (int j = 0; j < 3; ++j) total += v[(i * 3 + j) * 4 + k];
      EXPECT_NEAR(s.to_doubles()[i * 4 + k], total, 1e-12);
    }
  for (int j = 0; j < 3; ++j) {
    double total = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) total += v[(i * 3 + j) * 4 + k];
    EXPECT_NEAR(m.to_doubles()[j], total / 8, 1e-12);
  }
  EXPECT_EQ(sum(x, {0, 1, 2}).shape(), Shape{});
  EXPECT_NEAR(sum(x, {0, 1, 2}).item(), sum(x).item(), 1e-12);
  EXPECT_THROW(sum(x, {1, 1}), Error);
  EXPECT_THROW(sum(x, {3}), Error);
}

// Philox-4x32-10 against the known-answer vectors of its authors (Random123's kat_vectors), and the
// random tensors built on it: their values are a function of (seed, index) only.
TEST(Random, PhiloxKnownAnswers) {
  auto words = [](math::Philox4x32 c, uint32_t k0, uint32_t k1) {
    const math::Philox4x32 r = math::philox4x32_10(c, k0, k1);
    return std::vector<uint32_t>{r.v[0], r.v[1], r.v[2], r.v[3]};
  };
  EXPECT_EQ(words({{0, 0, 0, 0}}, 0, 0), (std::vector<uint32_t>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(words({{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff),
            (std::vector<uint32_t>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(words({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0),
            (std::vector<uint32_t>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Random, UniformAndBernoulliTensors) {
  const Tensor u = random_uniform({100000}, 7);
  const std::vector<double> v = u.to_doubles();
  double total = 0, squares = 0;
  for (double x : v) {
    ASSERT_TRUE(0 <= x && x < 1);
    total += x, squares += x * x;
  }
  const double mean = total / v.size(), variance = squares / v.size() - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);          // 5 standard errors of the mean
  EXPECT_NEAR(variance, 1.0 / 12, 0.002);
  EXPECT_EQ(random_uniform({100000}, 7).to_doubles(), v);  // a function of (seed, index)
  EXPECT_NE(random_uniform({10}, 8).to_doubles(), std::vector<double>(v.begin(), v.begin() + 10));
  // float64 draws the same 24-bit values
  EXPECT_EQ(random_uniform({1000}, 7, cpu(), DType::F64).to_doubles(), std::vector<double>(v.begin(), v.begin() + 1000));
  const std::vector<double> b = random_bernoulli({1000}, 0.3, 7).to_doubles();
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], v[i] < 0.3 ? 1.0 : 0.0);
}

// Dropout: kept elements scaled by 1 / (1 - p), the others 0; about p of them dropped; the
// identity in evaluation; a new mask on every forward after reseed, the same masks again after it.
TEST(Layers, Dropout) {
  Rng rng(30);
  const Tensor x = random_away_from_zero({20000}, rng);
  Dropout dropout(0.25);
  dropout.reseed(3);
  const std::vector<double> a = dropout.forward(x).to_doubles(), b = dropout.forward(x).to_doubles(), v = x.to_doubles();
  int dropped = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i] == 0 || std::abs(a[i] - v[i] / 0.75) < 1e-12) << i;
    dropped += a[i] == 0;
  }
  EXPECT_NEAR(dropped / 20000.0, 0.25, 0.015);  // 5 standard errors
  EXPECT_NE(a, b);
  dropout.reseed(3);
  EXPECT_EQ(dropout.forward(x).to_doubles(), a);
  dropout.train(false);
  EXPECT_EQ(dropout.forward(x).to_doubles(), v);
  EXPECT_THROW(Dropout(1.0), Error);
}

// Group norm against its definition computed by loops: x [2, 3, 4] (N, positions, C) in 2 groups of
// 2 channels: each (example, group) holds 6 values normalised by their own mean and variance.
TEST(Ops, GroupNormValues) {
  Rng rng(31);
  const Tensor x = random_tensor({2, 3, 4}, rng), gamma = random_tensor({4}, rng, 0.5, 1.5), beta = random_tensor({4}, rng);
  const std::vector<double> v = x.to_doubles(), g = gamma.to_doubles(), b = beta.to_doubles();
  const std::vector<double> y = group_norm(x, gamma, beta, 2, 1e-5).to_doubles();
  for (int n = 0; n < 2; ++n)
    for (int group = 0; group < 2; ++group) {
      double mean = 0, var = 0;
      for (int p = 0; p < 3; ++p)
        for (int c = 2 * group; c < 2 * group + 2; ++c) mean += v[(n * 3 + p) * 4 + c] / 6;
      for (int p = 0; p < 3; ++p)
        for (int c = 2 * group; c < 2 * group + 2; ++c) var += std::pow(v[(n * 3 + p) * 4 + c] - mean, 2) / 6;
      for (int p = 0; p < 3; ++p)
        for (int c = 2 * group; c < 2 * group + 2; ++c) {
          const int i = (n * 3 + p) * 4 + c;
          EXPECT_NEAR(y[i], g[c] * (v[i] - mean) / std::sqrt(var + 1e-5) + b[c], 1e-12) << i;
        }
    }
  EXPECT_THROW(group_norm(x, gamma, beta, 3, 1e-5), Error);  // 4 channels do not split into 3 groups
}

// The CPU's group norm runs example by example, over column sums and spans of rows; at shapes with
// several spans and a partial one, one channel per group and several, its values and gradients
// must match the definition written as loops over each group (the formulas themselves are checked
// by finite differences in the op list, at small shapes).
TEST(Ops, GroupNormAtLargerShapesMatchesItsDefinition) {
  struct Case {
    int64_t N, P, C, G;
  };
  for (const Case& k : {Case{3, 37, 8, 8}, Case{2, 9, 64, 32}, Case{2, 5, 24, 3}}) {
    Rng rng(32);
    const Tensor x0 = random_tensor({k.N, k.P, k.C}, rng, -2, 3), gamma0 = random_tensor({k.C}, rng, 0.5, 1.5);
    const Tensor beta0 = random_tensor({k.C}, rng), w = random_tensor({k.N, k.P, k.C}, rng);
    Tensor x = x0.clone().set_requires_grad(true), gamma = gamma0.clone().set_requires_grad(true);
    Tensor beta = beta0.clone().set_requires_grad(true);
    const Tensor y = group_norm(x, gamma, beta, int(k.G), 1e-5);
    backward(sum(mul(y, w)));  // dy = w
    const std::vector<double> v = x0.to_doubles(), g = gamma0.to_doubles(), dy = w.to_doubles(), got_y = y.to_doubles();
    const std::vector<double> got_dx = x.grad().to_doubles(), got_dgamma = gamma.grad().to_doubles();
    const std::vector<double> got_dbeta = beta.grad().to_doubles();
    const int64_t Cg = k.C / k.G, M = k.P * Cg;
    std::vector<double> dgamma(k.C, 0.0), dbeta(k.C, 0.0);
    double worst = 0;
    for (int64_t n = 0; n < k.N; ++n)
      for (int64_t group = 0; group < k.G; ++group) {
        std::vector<int64_t> at;  // the group's elements
        for (int64_t p = 0; p < k.P; ++p)
          for (int64_t c = group * Cg; c < (group + 1) * Cg; ++c) at.push_back((n * k.P + p) * k.C + c);
        double mean = 0, var = 0, sum_g = 0, sum_g_xhat = 0;
        for (int64_t i : at) mean += v[i] / M;
        for (int64_t i : at) var += (v[i] - mean) * (v[i] - mean) / M;
        const double invstd = 1 / std::sqrt(var + 1e-5);
        for (int64_t i : at) {
          const int64_t c = i % k.C;
          const double xhat = (v[i] - mean) * invstd;
          worst = std::max(worst, std::abs(got_y[i] - (g[c] * xhat + beta0.to_doubles()[c])));
          sum_g += dy[i] * g[c], sum_g_xhat += dy[i] * g[c] * xhat;
          dgamma[c] += dy[i] * xhat, dbeta[c] += dy[i];
        }
        for (int64_t i : at) {
          const double xhat = (v[i] - mean) * invstd;
          worst = std::max(worst, std::abs(got_dx[i] - invstd / M * (M * dy[i] * g[i % k.C] - sum_g - xhat * sum_g_xhat)));
        }
      }
    for (int64_t c = 0; c < k.C; ++c)
      worst = std::max({worst, std::abs(got_dgamma[c] - dgamma[c]), std::abs(got_dbeta[c] - dbeta[c])});
    EXPECT_LT(worst, 1e-11) << k.N << " x " << k.P << " x " << k.C << " in " << k.G << " groups";
  }
}

// one_hot has no gradient; its values: hard labels as distributions, repeated per position.
TEST(Ops, OneHot) {
  Tensor labels = Tensor::from_vector<int64_t>({2, 0}, {2});
  EXPECT_EQ(one_hot(labels, 3).to_doubles(), (std::vector<double>{0, 0, 1, 1, 0, 0}));
  Tensor repeated = one_hot_positions(labels, 3, 2);
  EXPECT_EQ(repeated.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(repeated.to_doubles(), (std::vector<double>{0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0}));
  EXPECT_THROW(one_hot(Tensor::from_vector<int64_t>({3}, {1}), 3), Error);
  // cross_entropy on labels equals soft_cross_entropy on their one-hot rows
  Rng rng(16);
  Tensor z = random_tensor({2, 3}, rng, -2, 2).to(DType::F32);
  EXPECT_NEAR(cross_entropy(z, labels).item(), soft_cross_entropy(z, one_hot(labels, 3)).item(), 1e-6);
}

// A whole little network: conv -> BN -> ReLU -> conv(stride 2) + shortcut -> pool -> linear -> loss.
TEST(Gradcheck, ComposedNetwork) {
  Rng rng(15);
  BatchNormBuffers buffers = fresh_buffers(3);
  Tensor labels = Tensor::from_vector<int64_t>({1, 0}, {2});
  check_gradients(
      [&](auto& in) {
        Tensor h = conv2d(in[0], in[1], Tensor(), 1, 1);
        h = relu(batch_norm(h, in[2], in[3], buffers, true, 0.1, 1e-5));
        Tensor o = add(conv2d(h, in[4], Tensor(), 2, 1), conv2d(h, in[5], Tensor(), 2, 0));
        return cross_entropy(linear(global_avg_pool(o), in[6], in[7]), labels);
      },
      {param(random_tensor({2, 4, 4, 2}, rng)), param(random_tensor({3, 3, 3, 2}, rng)),
       param(random_tensor({3}, rng, 0.5, 1.5)), param(random_tensor({3}, rng)), param(random_tensor({4, 3, 3, 3}, rng)),
       param(random_tensor({4, 1, 1, 3}, rng)), param(random_tensor({2, 4}, rng)), param(random_tensor({2}, rng))});
}

}  // namespace
}  // namespace mm::testing
