// Both models at reduced width against PyTorch fixtures (tests/reference/make_model_fixtures.py):
// logits, loss, every parameter gradient and BN buffer after one training-mode step, the
// parameters after one SGD step, and evaluation-mode logits of a state dict written by PyTorch.
#include <set>

#include "engine/autograd.h"
#include "engine/optim.h"
#include "layers/state_dict.h"
#include "models/network.h"
#include "tests/fixtures.h"

namespace mm::testing {
namespace {

// Tolerances relative to each tensor's largest magnitude. The fixtures hold float64 values; a
// float32 run is within float32 rounding of them, a float64 run within float64 rounding.
struct Tolerance {
  double value, grad;
};
constexpr Tolerance kFloat32{1e-5, 1e-4}, kFloat64{1e-9, 1e-9};
// Gradients that are zero in exact arithmetic (biases of convolutions followed by batch norm) hold
// rounding noise on both sides; they are compared against this floor instead.
constexpr double kGradFloor = 1e-2;

class ModelFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fixture = load_fixture(GetParam(), "2", "make_model_fixtures.py");
    net = make_network(fixture.metadata.at("model"), std::stoi(fixture.metadata.at("width")),
                       std::stoi(fixture.metadata.at("num_classes")), /*seed=*/0);
    load_state_dict(*net, fixture, "weights.");
  }
  TensorFile fixture;
  std::unique_ptr<Network> net;
};

TEST_P(ModelFixture, ParameterNamesMatchPyTorch) {
  std::set<std::string> ours, theirs;
  for (const auto& [name, t] : state_dict(*net)) ours.insert(name);
  for (const auto& [name, t] : fixture.tensors)
    if (name.rfind("weights.", 0) == 0) theirs.insert(name.substr(8));
  EXPECT_EQ(ours, theirs);
}

// One training-mode step and one SGD step of the network in `dtype`, against the fixture.
void check_training_step(Network& net, const TensorFile& fixture, DType dtype, Tolerance tol) {
  net.to(dtype);
  net.train(true);
  Tensor images = nchw_to_nhwc(fixture.at("images")).to(dtype);
  Tensor logits = net.forward(images);
  Tensor loss = cross_entropy(logits, fixture.at("labels"));
  EXPECT_EQ(logits.dtype(), dtype);
  EXPECT_TRUE(close_relative(logits, fixture.at("logits"), tol.value)) << "logits";
  EXPECT_NEAR(loss.item(), fixture.at("loss").item(), tol.value * std::abs(fixture.at("loss").item()));
  backward(loss);
  for (const auto& nt : net.named_parameters())
    EXPECT_TRUE(close_relative(to_file_layout(nt.tensor.grad(), nt.layout), fixture.at("grad." + nt.name), tol.grad, kGradFloor))
        << "grad." << nt.name;
  for (const auto& nt : net.named_buffers())
    EXPECT_TRUE(close_relative(nt.tensor, fixture.at("state." + nt.name), tol.value)) << "state." << nt.name;

  Sgd sgd(net.parameters(), SgdOptions{0.1, 0.9, 1e-4, false});
  sgd.step(0.1);
  for (const auto& nt : net.named_parameters())
    EXPECT_TRUE(close_relative(to_file_layout(nt.tensor, nt.layout), fixture.at("sgd." + nt.name), tol.value))
        << "sgd." << nt.name;
}

TEST_P(ModelFixture, TrainingStepMatchesPyTorch) { check_training_step(*net, fixture, DType::F32, kFloat32); }

// In float64 no float32 rounding (nor a ReLU input within it of the kink) can hide or fake a difference.
TEST_P(ModelFixture, TrainingStepMatchesPyTorchInFloat64) { check_training_step(*net, fixture, DType::F64, kFloat64); }

// The same step with the encoder in bfloat16 (--precision bf16): tolerances in tests/fixtures.h.
TEST_P(ModelFixture, BFloat16StepFollowsTheExactStep) {
  net->train(true);
  net->set_compute_dtype(DType::BF16);
  Tensor logits = net->forward(nchw_to_nhwc(fixture.at("images")));
  Tensor loss = cross_entropy(logits, fixture.at("labels"));
  EXPECT_EQ(logits.dtype(), DType::F32);
  EXPECT_NEAR(loss.item(), fixture.at("loss").item(), 0.03 * std::abs(fixture.at("loss").item()));
  backward(loss);
  std::vector<std::pair<std::string, Tensor>> grads;
  for (const auto& nt : net->named_parameters()) grads.push_back({nt.name, to_file_layout(nt.tensor.grad(), nt.layout)});
  expect_bf16_step_close(logits, fixture.at("logits"), grads, fixture, kGradFloor);
}

TEST_P(ModelFixture, EvaluationLogitsOfAPyTorchStateDict) {
  net->train(false);
  NoGrad no_grad;
  Tensor logits = net->forward(nchw_to_nhwc(fixture.at("images")));
  EXPECT_TRUE(close_relative(logits, fixture.at("eval_logits"), kFloat32.value));
  net->to(DType::F64);
  logits = net->forward(nchw_to_nhwc(fixture.at("images")).to(DType::F64));
  EXPECT_TRUE(close_relative(logits, fixture.at("eval_logits"), kFloat64.value)) << "float64";
}

TEST_P(ModelFixture, MismatchedWeightsAreRefused) {
  auto wider = make_network(fixture.metadata.at("model"), 2 * std::stoi(fixture.metadata.at("width")), 10, 0);
  EXPECT_THROW(load_state_dict(*wider, fixture, "weights."), Error);
  auto other_classes = make_network(fixture.metadata.at("model"), std::stoi(fixture.metadata.at("width")), 7, 0);
  EXPECT_THROW(load_state_dict(*other_classes, fixture, "weights."), Error);
}

INSTANTIATE_TEST_SUITE_P(Models, ModelFixture, ::testing::Values("preactresnet18", "wrn16_8"));

TEST(Models, StagesComposeAndShapesFollowSpec) {
  Rng rng(3);
  auto r18 = make_network("preactresnet18", 4, 10, 1);
  Tensor x = Tensor::empty({2, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(rng.normal());
  r18->train(false);  // evaluation mode: running statistics make stage-by-stage runs comparable
  NoGrad no_grad;
  EXPECT_EQ(r18->run_stages(x, 0, 1).shape(), (Shape{2, 32, 32, 4}));
  EXPECT_EQ(r18->run_stages(x, 0, 4).shape(), (Shape{2, 4, 4, 32}));
  Tensor split = r18->run_stages(r18->run_stages(x, 0, 2), 2, 4);
  EXPECT_TRUE(close_relative(split, r18->run_stages(x, 0, 4), 1e-6));
  auto wrn = make_network("wrn16_8", 1, 10, 1);
  wrn->train(false);
  EXPECT_EQ(wrn->features(x).shape(), (Shape{2, 8, 8, 64}));
  EXPECT_EQ(wrn->forward(x).shape(), (Shape{2, 10}));
  EXPECT_THROW(make_network("resnet50", 0, 10, 0), Error);
}

// The options of the models: group norm in place of batch norm (same names, no running statistics)
// and dropout before the classifier (no parameters); the defaults are the paper's models.
TEST(Models, GroupNormAndDropoutOptions) {
  for (std::string name : {"preactresnet18", "wrn16_8"}) {
    auto batch = make_network(name, 2, 10, 1), group = make_network(name, 2, 10, 1, NormKind::Group);
    EXPECT_EQ(batch->named_parameters().size(), group->named_parameters().size()) << name;
    for (size_t k = 0; k < batch->named_parameters().size(); ++k)
      EXPECT_EQ(batch->named_parameters()[k].name, group->named_parameters()[k].name);
    EXPECT_TRUE(group->named_buffers().empty()) << name;
    group->set_dropout(0.5);
    EXPECT_EQ(state_dict(*group).size(), group->named_parameters().size());
    Rng rng(3);
    Tensor x = Tensor::empty({2, 32, 32, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(rng.normal());
    EXPECT_EQ(group->forward(x).shape(), (Shape{2, 10}));
    group->train(false);
    NoGrad no_grad;
    EXPECT_EQ(group->forward(x).to_doubles(), group->forward(x).to_doubles());  // evaluation: no dropout
    // group norm takes bfloat16 activations too (--precision bf16): logits within its rounding
    const Tensor exact = group->forward(x);
    group->set_compute_dtype(DType::BF16);
    const double error = relative_error(group->forward(x), exact);
    EXPECT_LT(error, 0.06) << name;
    EXPECT_GT(error, 1e-5) << name;
  }
  EXPECT_THROW(parse_norm("layer"), Error);
}

TEST(Models, InitialisationFollowsPyTorchDefaults) {
  auto net = make_network("preactresnet18", 8, 10, 5);
  for (const auto& nt : net->named_parameters()) {
    const std::vector<double> v = nt.tensor.to_doubles();
    if (nt.name.find("bn") != std::string::npos) {
      const double expected = nt.name.size() >= 6 && nt.name.substr(nt.name.size() - 6) == "weight" ? 1.0 : 0.0;
      for (double x : v) ASSERT_EQ(x, expected) << nt.name;
      continue;
    }
    // Kaiming-uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)); fan_in = numel / out.
    const int64_t out = nt.tensor.dim(0);
    const double fan_in = nt.name.find("classifier.bias") != std::string::npos ? 8 * 8 : double(nt.tensor.numel()) / out;
    const double bound = 1 / std::sqrt(fan_in);
    double lo = 1e9, hi = -1e9;
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
    EXPECT_GE(lo, -bound) << nt.name;
    EXPECT_LE(hi, bound) << nt.name;
    if (v.size() > 1000) EXPECT_GT(hi, 0.9 * bound) << nt.name;  // really spread over the interval
  }
}

}  // namespace
}  // namespace mm::testing
