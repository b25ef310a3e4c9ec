// Every differentiable op checked against central differences in double precision: the entries of
// tests/op_cases.h, and a few compositions.
#include <algorithm>

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
