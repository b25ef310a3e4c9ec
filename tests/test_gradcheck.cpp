// Every differentiable op checked against central differences in double precision.
#include "tests/gradcheck.h"

namespace mm::testing {
namespace {

TEST(Gradcheck, Add) {
  Rng rng(1);
  check_gradients([](auto& in) { return add(in[0], in[1]); },
                  {param(random_tensor({3, 4}, rng)), param(random_tensor({3, 4}, rng))});
}

TEST(Gradcheck, AddSameTensorTwice) {
  Rng rng(2);
  check_gradients([](auto& in) { return add(in[0], in[0]); }, {param(random_tensor({5}, rng))});
}

TEST(Gradcheck, Mul) {
  Rng rng(3);
  check_gradients([](auto& in) { return mul(in[0], in[1]); },
                  {param(random_tensor({2, 3, 2}, rng)), param(random_tensor({2, 3, 2}, rng))});
}

TEST(Gradcheck, Scale) {
  Rng rng(4);
  check_gradients([](auto& in) { return scale(in[0], -2.5); }, {param(random_tensor({7}, rng))});
}

TEST(Gradcheck, Relu) {
  Rng rng(5);
  check_gradients([](auto& in) { return relu(in[0]); }, {param(random_away_from_zero({4, 5}, rng))});
}

TEST(Gradcheck, ChannelAffine) {
  Rng rng(17);
  // scale and shift are constants: only x is checked
  const Tensor scale = random_tensor({3}, rng), shift = random_tensor({3}, rng);
  check_gradients([&](auto& in) { return channel_affine(in[0], scale, shift); }, {param(random_tensor({2, 2, 4, 3}, rng))});
}

TEST(Gradcheck, ReshapeSumMean) {
  Rng rng(6);
  check_gradients([](auto& in) { return reshape(in[0], {6, 2}); }, {param(random_tensor({3, 4}, rng))});
  check_gradients([](auto& in) { return sum(in[0]); }, {param(random_tensor({3, 4}, rng))});
  check_gradients([](auto& in) { return mean(in[0]); }, {param(random_tensor({3, 4}, rng))});
}

TEST(Gradcheck, Linear) {
  Rng rng(7);
  check_gradients([](auto& in) { return linear(in[0], in[1], in[2]); },
                  {param(random_tensor({4, 5}, rng)), param(random_tensor({3, 5}, rng)), param(random_tensor({3}, rng))});
  check_gradients([](auto& in) { return linear(in[0], in[1], Tensor()); },
                  {param(random_tensor({2, 5}, rng)), param(random_tensor({6, 5}, rng))});
}

struct ConvCase {
  int H, W, Cin, Cout, k, stride, pad;
  bool bias;
};

class GradcheckConv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(GradcheckConv, MatchesFiniteDifferences) {
  const ConvCase c = GetParam();
  Rng rng(8);
  std::vector<Tensor> in{param(random_tensor({2, c.H, c.W, c.Cin}, rng)),
                         param(random_tensor({c.Cout, c.k, c.k, c.Cin}, rng))};
  if (c.bias) in.push_back(param(random_tensor({c.Cout}, rng)));
  check_gradients([c](auto& t) { return conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), c.stride, c.pad); }, in);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GradcheckConv,
                         ::testing::Values(ConvCase{5, 5, 3, 4, 3, 1, 1, false},  // 3x3 same padding
                                           ConvCase{6, 6, 2, 3, 3, 2, 1, true},   // 3x3 stride 2, bias
                                           ConvCase{4, 5, 3, 2, 1, 1, 0, true},   // pointwise (no im2col)
                                           ConvCase{6, 6, 3, 4, 1, 2, 0, false},  // 1x1 stride 2 shortcut
                                           ConvCase{5, 4, 2, 2, 3, 1, 0, false},  // valid, non-square
                                           ConvCase{4, 4, 1, 2, 3, 3, 2, true})); // wide padding, stride 3

// Batch norm buffers of the given dtype and width.
BatchNormBuffers fresh_buffers(int64_t C) {
  return {Tensor::zeros({C}, DType::F64), Tensor::full({C}, 1.0, DType::F64), Tensor::zeros({}, DType::I64)};
}

TEST(Gradcheck, BatchNormTraining4d) {
  Rng rng(9);
  BatchNormBuffers buffers = fresh_buffers(3);
  check_gradients([&](auto& in) { return batch_norm(in[0], in[1], in[2], buffers, true, 0.1, 1e-5); },
                  {param(random_tensor({2, 3, 2, 3}, rng)), param(random_tensor({3}, rng, 0.5, 1.5)),
                   param(random_tensor({3}, rng))});
}

TEST(Gradcheck, BatchNormTraining2d) {
  Rng rng(10);
  BatchNormBuffers buffers = fresh_buffers(4);
  check_gradients([&](auto& in) { return batch_norm(in[0], in[1], in[2], buffers, true, 0.1, 1e-5); },
                  {param(random_tensor({5, 4}, rng)), param(random_tensor({4}, rng, 0.5, 1.5)),
                   param(random_tensor({4}, rng))});
}

TEST(Gradcheck, BatchNormEvaluation) {
  Rng rng(11);
  BatchNormBuffers buffers{random_tensor({3}, rng), random_tensor({3}, rng, 0.5, 2.0), Tensor::zeros({}, DType::I64)};
  check_gradients([&](auto& in) { return batch_norm(in[0], in[1], in[2], buffers, false, 0.1, 1e-5); },
                  {param(random_tensor({2, 2, 2, 3}, rng)), param(random_tensor({3}, rng)),
                   param(random_tensor({3}, rng))});
}

TEST(Gradcheck, Pooling) {
  Rng rng(12);
  check_gradients([](auto& in) { return avg_pool(in[0], 2); }, {param(random_tensor({2, 4, 6, 3}, rng))});
  check_gradients([](auto& in) { return global_avg_pool(in[0]); }, {param(random_tensor({2, 3, 5, 4}, rng))});
}

TEST(Gradcheck, CrossEntropyHardLabels) {
  Rng rng(13);
  Tensor labels = Tensor::from_vector<int64_t>({2, 0, 4, 4}, {4});
  check_gradients([&](auto& in) { return cross_entropy(in[0], labels); }, {param(random_tensor({4, 5}, rng, -3, 3))});
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

TEST(Gradcheck, CrossEntropySoftTargets) {
  Rng rng(14);
  Tensor targets = random_tensor({3, 6}, rng, 0, 1);  // not normalised: the formula holds for any weights
  check_gradients([&](auto& in) { return soft_cross_entropy(in[0], targets); },
                  {param(random_tensor({3, 6}, rng, -3, 3))});
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
