#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/divmod.h"
#include "engine/metrics.h"
#include "engine/ops/batchnorm_kernels.h"
#include "engine/ops/batchnorm_math.h"
#include "engine/ops/loss_math.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "layers/module.h"

namespace mm {
namespace {

TEST(Tensor, ShapesAndViews) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dim(-1), 3);
  Tensor v = t.view({3, 2});
  EXPECT_TRUE(v.same_storage(t));
  EXPECT_EQ(t.slice_rows(1, 2).to_doubles(), (std::vector<double>{4, 5, 6}));
  EXPECT_THROW(t.view({4, 2}), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(Tensor::empty({-1}), Error);
}

// A shape whose element or byte count overflows an int64 is an error, not a wrapped size.
TEST(Tensor, OverflowingShapesAreRefused) {
  EXPECT_THROW(Tensor::empty({int64_t(1) << 62, 4}), Error);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 61, 2}), Error);  // 2^62 elements of 4 bytes
  EXPECT_THROW(shape_numel({int64_t(1) << 40, int64_t(1) << 40}), Error);
}

TEST(Tensor, CloneIsIndependent) {
  Tensor t = Tensor::full({3}, 2.0);
  Tensor c = t.clone();
  c.fill(5.0);
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{2, 2, 2}));
}

TEST(Tensor, LayoutConversionsRoundTrip) {
  std::vector<float> v(2 * 3 * 4 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  Tensor nchw = Tensor::from_vector(v, {2, 3, 4, 5});
  Tensor nhwc = nchw_to_nhwc(nchw);
  EXPECT_EQ(nhwc.shape(), (Shape{2, 4, 5, 3}));
  // element (n=1, c=2, h=3, w=4) of NCHW sits at (n=1, h=3, w=4, c=2) of NHWC
  EXPECT_EQ(nhwc.data<float>()[((1 * 4 + 3) * 5 + 4) * 3 + 2], nchw.data<float>()[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
  EXPECT_EQ(nhwc_to_nchw(nhwc).to_doubles(), nchw.to_doubles());
}

TEST(BFloat16, RoundsToTheNearestEven) {
  auto round = [](float v) { return float(bf16(v)); };
  for (float exact : {0.0f, -0.0f, 1.0f, -3.5f, 0x1p-100f, 0x1p100f, 1.0f + 0x1p-7f}) EXPECT_EQ(round(exact), exact);
  // 7 bits after the leading one: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 and goes to the
  // even neighbour 1; 1 + 3 x 2^-8, halfway between 1 + 2^-7 (odd) and 1 + 2^-6, goes up
  EXPECT_EQ(round(1.0f + 0x1p-8f), 1.0f);
  EXPECT_EQ(round(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);
  EXPECT_EQ(round(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // past halfway: up
  EXPECT_EQ(round(-(1.0f + 0x1p-8f + 0x1p-20f)), -(1.0f + 0x1p-7f));
  EXPECT_TRUE(std::isnan(round(std::nanf(""))));
  EXPECT_TRUE(std::isnan(round(-std::nanf(""))));
  EXPECT_EQ(round(INFINITY), INFINITY);
  EXPECT_EQ(round(-INFINITY), -INFINITY);
  EXPECT_EQ(round(FLT_MAX), INFINITY);  // beyond bfloat16's largest value by more than half a step
  // over many values: within half a step of bfloat16's grid in v's binade [2^e, 2^(e+1)), where
  // 7 bits after the leading one make the step 2^(e-7): the nearest grid point (and so within
  // 2^-8 of v itself)
  Rng rng(1);
  for (int i = 0; i < 100000; ++i) {
    const float v = float((rng.uniform() - 0.5) * std::pow(2.0, double(rng.below(60)) - 30));
    const float half_step = std::ldexp(1.0f, std::ilogb(v) - 8);
    EXPECT_LE(std::abs(round(v) - v), half_step) << v;
  }
}

TEST(BFloat16, CastRoundsForwardAndConvertsTheGradientBack) {
  Tensor x = Tensor::from_vector<float>({1.0f + 0x1p-8f, -2.5f, 3.0f + 0x1p-6f}, {3}).set_requires_grad();
  Tensor y = cast(x, DType::BF16);
  EXPECT_EQ(y.dtype(), DType::BF16);
  EXPECT_EQ(y.to_doubles(), (std::vector<double>{1.0, -2.5, 3.0 + 0x1p-6}));
  EXPECT_TRUE(cast(x, DType::F32).same_storage(x));  // the same dtype: x itself
  // d/dx sum(c * float(bf16(x))) = c, the gradient rounded to bfloat16 on its way through y
  Tensor c = Tensor::from_vector<float>({1.0f + 0x1p-9f, 2.0f, -1.0f}, {3});
  backward(sum(mul(cast(y, DType::F32), c)));
  EXPECT_EQ(x.grad().dtype(), DType::F32);
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{1.0, 2.0, -1.0}));
  EXPECT_THROW(cast(Tensor::zeros({2}, DType::F64), DType::BF16), Error);
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = Tensor::full({4}, 1.0).set_requires_grad(true);
  {
    NoGrad no_grad;
    Tensor y = relu(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(tape_size(), 0u);
  }
  Tensor y = relu(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(tape_size(), 1u);
  clear_tape();
}

TEST(Autograd, GradientWithRespectToInputAccumulatesOverCalls) {
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3}).set_requires_grad(true);
  backward(sum(scale(x, 2.0)));
  backward(sum(scale(x, 2.0)));
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{4, 4, 4}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

// The tape runs once: a graph recorded before another graph's backward() is released with it, and
// building on it (or calling backward on it) throws instead of giving a gradient that misses a path.
TEST(Autograd, GraphsReleasedByBackwardCannotBeReused) {
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3}).set_requires_grad(true);
  Tensor first = sum(scale(x, 2.0));
  Tensor hidden = relu(x);
  Tensor second = sum(hidden);
  backward(first);
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{2, 2, 2}));
  EXPECT_THROW(backward(second), Error);
  EXPECT_THROW(sum(hidden), Error);
  EXPECT_EQ(tape_size(), 0u);
  {
    NoGrad no_grad;  // reading released values without recording is fine
    EXPECT_EQ(sum(hidden).item(), 4.0);
  }
  backward(sum(relu(x)));  // computed again: a fresh graph
  EXPECT_EQ(x.grad().to_doubles(), (std::vector<double>{3, 2, 3}));
  Tensor dropped = relu(x);
  clear_tape();
  EXPECT_THROW(backward(sum(dropped)), Error);
}

TEST(Autograd, BackwardWithoutRecordedOpsIsAnError) {
  Tensor x = Tensor::full({2}, 1.0);
  EXPECT_THROW(backward(sum(x)), Error);
}

// The column sums of the kernels (batch norm's statistics and backward, bias gradients) take each
// thread's rows one tile of columns at a time; they must still add the same numbers in the same
// order as a row-by-row loop: the same bits for every width (tiles of 16, 8 and single columns) and
// thread count.
TEST(ParallelSums, ColumnTilesAddInTheOrderOfRows) {
  Rng rng(11);
  const int saved_threads = omp_get_max_threads();
  for (int64_t C : {1, 3, 8, 13, 16, 24, 40}) {
    const int64_t rows = 301;
    std::vector<float> x(rows * C);
    for (float& v : x) v = float(rng.uniform() * 2e3 - 1e3);
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      const std::vector<double> by_rows = parallel_sums(rows, 2 * C, [&](int64_t r, double* slot) {
        for (int64_t c = 0; c < C; ++c) {
          slot[c] += x[r * C + c];
          slot[C + c] += double(x[r * C + c]) * x[r * C + c];
        }
      });
      const std::vector<double> by_tiles = parallel_column_sums<2>(rows, C, [&](int64_t r, int64_t c) {
        return std::array<double, 2>{double(x[r * C + c]), double(x[r * C + c]) * x[r * C + c]};
      });
      EXPECT_EQ(by_tiles, by_rows) << C << " columns, " << threads << " threads";
    }
  }
  omp_set_num_threads(saved_threads);
}

// Batch norm's element-wise passes run over spans of whole rows with the channel values repeated
// (engine/ops/batchnorm_kernels.cpp); each element must still get the bits of a row-by-row loop
// over the shared math: for channel counts below, at and above the span, spans that do not divide
// the tensor, both modes, with and without the fused ReLU, assigning and accumulating.
TEST(BatchNormKernels, SpansComputeWhatARowByRowLoopComputes) {
  Rng rng(13);
  auto random_floats = [&](int64_t n, double lo, double hi) {
    std::vector<float> v(n);
    for (float& e : v) e = float(lo + (hi - lo) * rng.uniform());
    return Tensor::from_vector<float>(v, {n});
  };
  for (int64_t C : {1, 3, 8, 13, 64, 100})
    for (int64_t M : {1, 7, 301}) {
      const Tensor x = random_floats(M * C, -2, 2).view({M, C}), dy = random_floats(M * C, -1, 1).view({M, C});
      const Tensor mean = random_floats(C, -0.5, 0.5), invstd = random_floats(C, 0.5, 2), gamma = random_floats(C, 0.5, 1.5);
      const Tensor beta = random_floats(C, -0.2, 0.2), sum_dy = random_floats(C, -3, 3), sum_dy_xhat = random_floats(C, -3, 3);
      const float *px = x.data<float>(), *pdy = dy.data<float>(), *pm = mean.data<float>(), *pi = invstd.data<float>();
      const float *g = gamma.data<float>(), *b = beta.data<float>(), *sdy = sum_dy.data<float>(), *sdx = sum_dy_xhat.data<float>();
      for (bool relu : {false, true}) {
        Tensor y = Tensor::empty({M, C});
        kernels::bn_apply(x, mean, invstd, gamma, beta, relu, y);
        int64_t differing = 0;
        for (int64_t r = 0; r < M; ++r)
          for (int64_t c = 0; c < C; ++c)
            differing += y.data<float>()[r * C + c] != math::bn_apply(px[r * C + c], pm[c], pi[c], g[c], b[c], relu);
        EXPECT_EQ(differing, 0) << "apply, C " << C << " M " << M << " relu " << relu;
        const Tensor relu_out = relu ? y : Tensor();
        for (bool training : {false, true})
          for (bool accumulate : {false, true}) {
            const Tensor before = random_floats(M * C, -1, 1).view({M, C});
            Tensor dx = before.clone();
            kernels::bn_backward_input(x, dy, relu_out, mean, invstd, gamma, sum_dy, sum_dy_xhat, training, dx, accumulate);
            differing = 0;
            for (int64_t r = 0; r < M; ++r)
              for (int64_t c = 0; c < C; ++c) {
                const int64_t i = r * C + c;
                const float d = relu ? math::relu_gradient(y.data<float>()[i], pdy[i]) : pdy[i];
                const float v = training ? math::bn_backward_train(d, math::bn_xhat(px[i], pm[c], pi[c]), g[c], pi[c], sdy[c],
                                                                   sdx[c], float(M))
                                         : math::bn_backward_eval(d, g[c], pi[c]);
                differing += dx.data<float>()[i] != (accumulate ? before.data<float>()[i] + v : v);
              }
            EXPECT_EQ(differing, 0) << "backward, C " << C << " M " << M << " relu " << relu << " training " << training
                                    << " accumulate " << accumulate;
          }
      }
    }
}

// The GPU kernels' channel of an element, i % C, through a multiplication (engine/divmod.h): the
// host runs the same arithmetic as the GPU's __umulhi, so this checks the GPU's results too.
TEST(Divisor, MatchesIntegerDivision) {
  Rng rng(12);
  std::vector<int64_t> divisors;
  for (int64_t d = 1; d <= 3000; ++d) divisors.push_back(d);
  for (int64_t k = 11; k <= 31; ++k)
    for (int64_t offset : {-3, -1, 0, 1, 3})
      if ((int64_t(1) << k) + offset < (int64_t(1) << 31)) divisors.push_back((int64_t(1) << k) + offset);
  for (int i = 0; i < 2000; ++i) divisors.push_back(1 + int64_t(rng.uniform() * ((int64_t(1) << 31) - 1)));
  const uint32_t largest = (uint32_t(1) << 31) - 1;
  for (int64_t d : divisors) {
    const Divisor divisor(d);
    std::vector<uint32_t> numerators = {0, 1, uint32_t(d - 1), largest, largest - 1};
    for (uint32_t multiple : {uint32_t(1), uint32_t(2), uint32_t(1000)})
      if (uint64_t(d) * multiple <= largest) {
        numerators.push_back(uint32_t(d * multiple));
        numerators.push_back(uint32_t(d * multiple - 1));
      }
    for (int i = 0; i < 50; ++i) numerators.push_back(uint32_t(rng.uniform() * largest));
    for (uint32_t n : numerators) {
      ASSERT_EQ(divisor.quotient(n), n / uint32_t(d)) << n << " / " << d;
      ASSERT_EQ(divisor.remainder(n), n % uint32_t(d)) << n << " % " << d;
    }
  }
  EXPECT_THROW(Divisor(0), Error);
  EXPECT_THROW(Divisor(int64_t(1) << 31), Error);
}

TEST(LossRows, FloatExponentialIsWithinAnUlpOfExp) {
  // every argument a row can pass, x = z - max z <= 0, on a fine grid and at random
  double worst = 0;
  Rng rng(5);
  for (int i = 0; i <= 1000000; ++i) {
    const float x = i % 2 ? float(-87.3 * i / 1000000) : float(-87.3 * rng.uniform());
    worst = std::max(worst, std::fabs(double(math::row_exp(x)) / std::exp(double(x)) - 1));
  }
  EXPECT_LT(worst, 1.2e-7);  // FLT_EPSILON: about one ulp
  EXPECT_EQ(math::row_exp(0.0f), 1.0f);
  EXPECT_GT(math::row_exp(-1000.0f), 0.0f);  // far below: exp(-87.3), not 0 or garbage
  EXPECT_LT(math::row_exp(-1000.0f), 1.3e-38f);
  EXPECT_TRUE(std::isnan(math::row_exp(NAN)));
}

TEST(LossRows, PartialSumsAndMaximaReachTheTail) {
  // row lengths around the lane count; the largest entry and a marked entry sit in every position
  for (int n = 1; n <= 3 * math::kRowLanes + 1; ++n)
    for (int at = 0; at < n; ++at) {
      std::vector<float> z(n);
      for (int c = 0; c < n; ++c) z[c] = float(c % 5);
      z[at] = 100;
      EXPECT_EQ(math::row_max(z.data(), n), 100.0f) << "n " << n << " at " << at;
      const float sum = math::row_sum<float>(n, [&](int c) { return z[c]; });
      float expected = 0;
      for (int c = 0; c < n; ++c) expected += z[c];  // small integers: exact in any order
      EXPECT_EQ(sum, expected) << "n " << n << " at " << at;
    }
}

TEST(LossRows, FloatRowsAgreeWithDoubleRows) {
  // the float rows (row_exp, partial sums) against the same rows in double (exp, exact to ~1e-16)
  Rng rng(9);
  for (int classes : {1, 7, 8, 9, 10, 100, 1000}) {
    std::vector<float> z(classes), t(classes), grad(classes), p(classes);
    std::vector<double> zd(classes), td(classes), gradd(classes), pd(classes);
    double t_total = 0;
    for (int c = 0; c < classes; ++c) {
      zd[c] = z[c] = float(20 * rng.uniform() - 10);
      td[c] = t[c] = float(rng.uniform());
      t_total += t[c];
    }
    const long long label = classes / 2;
    const double loss = math::softmax_xent_row(zd.data(), td.data(), classes, gradd.data());
    EXPECT_NEAR(math::softmax_xent_row(z.data(), t.data(), classes, grad.data()), loss, 1e-6 * (1 + std::fabs(loss)));
    EXPECT_NEAR(math::softmax_xent_row<float>(z.data(), t.data(), classes, nullptr), loss, 1e-6 * (1 + std::fabs(loss)));
    for (int c = 0; c < classes; ++c) EXPECT_NEAR(grad[c], gradd[c], 1e-6 * (1 + t_total)) << classes << " " << c;
    const double label_loss = math::softmax_xent_label_row(zd.data(), label, classes, gradd.data());
    EXPECT_NEAR(math::softmax_xent_label_row(z.data(), label, classes, grad.data()), label_loss, 1e-6 * (1 + label_loss));
    for (int c = 0; c < classes; ++c) EXPECT_NEAR(grad[c], gradd[c], 1e-6) << classes << " " << c;
    math::softmax_row(zd.data(), classes, pd.data());
    math::softmax_row(z.data(), classes, p.data());
    for (int c = 0; c < classes; ++c) EXPECT_NEAR(p[c], pd[c], 1e-6 * pd[c] + 1e-9) << classes << " " << c;
  }
}

TEST(Metrics, TopKCountsLabelsAmongTheHighestLogits) {
  // row 0: label 2 ranks first; row 1: label 0 ranks third; row 2: a tie goes to the smaller index
  Tensor z = Tensor::from_vector<float>({0.1f, 0.2f, 0.9f, 0.0f, /**/ 0.5f, 0.7f, -1.0f, 0.6f, /**/ 0.3f, 0.3f, 0.3f, 0.3f},
                                        {3, 4});
  Tensor y = Tensor::from_vector<int64_t>({2, 0, 1}, {3});
  EXPECT_EQ(count_top_k(z, y, 1), 1);
  EXPECT_EQ(count_top_k(z, y, 2), 2);
  EXPECT_EQ(count_top_k(z, y, 3), 3);
  EXPECT_EQ(count_top_k(z, y, 5), 3);
  EXPECT_THROW(count_top_k(z, Tensor::from_vector<int64_t>({2, 0, 4}, {3}), 1), Error);
}

TEST(Ops, ShapeErrorsAreClear) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  EXPECT_THROW(add(a, b), Error);
  EXPECT_THROW(linear(a, Tensor::zeros({4, 2}), Tensor()), Error);
  EXPECT_THROW(conv2d(Tensor::zeros({1, 4, 4, 3}), Tensor::zeros({2, 3, 3, 2}), Tensor(), 1, 1), Error);
  EXPECT_THROW(cross_entropy(a, Tensor::from_vector<int64_t>({0, 3}, {2})), Error);  // label 3 >= 3 classes
  EXPECT_THROW(avg_pool(Tensor::zeros({1, 5, 5, 1}), 2), Error);
}

TEST(Ops, CrossEntropyIsStableForHugeLogits) {
  Tensor z = Tensor::from_vector<float>({1000, 0, -1000, -1000}, {2, 2});
  Tensor loss = cross_entropy(z, Tensor::from_vector<int64_t>({0, 1}, {2}));
  EXPECT_NEAR(loss.item(), std::log(2.0) / 2, 1e-6);  // row 0: loss 0; row 1: log 2
}

TEST(Ops, BatchNormRunningStatisticsFollowSpec) {
  // One channel, values 1, 2, 3, 6: mean 3, biased var 3.5, unbiased 14/3.
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 6}, {4, 1});
  BatchNormBuffers b{Tensor::zeros({1}, DType::F64), Tensor::full({1}, 1.0, DType::F64), Tensor::zeros({}, DType::I64)};
  Tensor g = Tensor::full({1}, 1.0, DType::F64), beta = Tensor::zeros({1}, DType::F64);
  Tensor y = batch_norm(x, g, beta, b, true, 0.1, 1e-5);
  EXPECT_NEAR(b.running_mean.item(), 0.1 * 3, 1e-12);
  EXPECT_NEAR(b.running_var.item(), 0.9 + 0.1 * 14.0 / 3, 1e-12);
  EXPECT_EQ(b.num_batches_tracked.item(), 1);
  EXPECT_NEAR(y.to_doubles()[3], 3 / std::sqrt(3.5 + 1e-5), 1e-9);
  Tensor e = batch_norm(x, g, beta, b, false, 0.1, 1e-5);  // evaluation uses running statistics
  EXPECT_NEAR(e.to_doubles()[0], (1 - 0.3) / std::sqrt(b.running_var.item() + 1e-5), 1e-9);
  EXPECT_EQ(b.num_batches_tracked.item(), 1);
}

TEST(Ops, BatchNormVarianceSurvivesALargeMean) {
  // One pass over x (engine/ops/batchnorm_kernels.cpp): values 1e8 + {1, 2, 3, 6} have the variance
  // of {1, 2, 3, 6}, 3.5; E[x^2] - E[x]^2 without a shift would cancel 16 digits in double.
  Tensor x = Tensor::from_vector<double>({1e8 + 1, 1e8 + 2, 1e8 + 3, 1e8 + 6}, {4, 1});
  BatchNormBuffers b{Tensor::zeros({1}, DType::F64), Tensor::full({1}, 1.0, DType::F64), Tensor::zeros({}, DType::I64)};
  Tensor y = batch_norm(x, Tensor::full({1}, 1.0, DType::F64), Tensor::zeros({1}, DType::F64), b, true, 1.0, 0);
  EXPECT_NEAR(b.running_mean.item(), 1e8 + 3, 1e-6);
  EXPECT_NEAR(b.running_var.item(), 14.0 / 3, 1e-12);
  EXPECT_NEAR(y.to_doubles()[3], 3 / std::sqrt(3.5), 1e-12);
}

}  // namespace
}  // namespace mm
