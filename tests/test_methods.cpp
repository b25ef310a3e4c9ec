// Every method of SPEC §3 against the PyTorch reference (tests/reference/make_method_fixtures.py),
// for both models, with and without distillation; and the probe binary on the same files.
#include <filesystem>

#include "engine/autograd.h"
#include "layers/state_dict.h"
#include "mixup/method.h"
#include "models/network.h"
#include "tests/fixtures.h"

namespace mm::testing {
namespace {

// See test_models.cpp. The fixtures use batches whose ReLU inputs all keep a margin from 0
// (tests/reference/models.py, relu_margin): otherwise float32 on some BLAS kernel may take the
// other side of a kink than float64 and move a gradient by percents.
constexpr double kValueTol = 1e-5, kGradTol = 1e-4, kGradFloor = 1e-2;

struct Case {
  std::string model, name;
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.model + "_" + info.param.name; }

class MethodFixture : public ::testing::TestWithParam<Case> {};

TEST_P(MethodFixture, StepMatchesPyTorch) {
  const Case c = GetParam();
  const TensorFile weights = load_fixture("method_" + c.model + "_weights", "1", "make_method_fixtures.py");
  const TensorFile f = load_fixture("method_" + c.model + "_" + c.name, "1", "make_method_fixtures.py");
  const int width = std::stoi(f.metadata.at("width")), classes = std::stoi(f.metadata.at("num_classes"));
  auto net = make_network(c.model, width, classes, 0), teacher = make_network(c.model, width, classes, 0);
  load_state_dict(*net, weights, "weights.");
  load_state_dict(*teacher, weights, "teacher.");

  MethodConfig config;
  config.method = parse_method(f.metadata.at("method"));
  config.distill = f.metadata.at("distill") == "1";
  config.gamma = std::stod(f.metadata.at("gamma"));
  config.dense_resolution = std::stoi(f.metadata.at("dense_resolution"));
  config.attention = parse_attention(f.metadata.at("attention"));
  const Draws d = read_draws(config.method, f);

  net->train(true);
  StepResult step = mixed_loss(*net, teacher.get(), nchw_to_nhwc(f.at("images")), nchw_to_nhwc(f.at("images2")),
                               f.at("labels"), classes, config, d);
  const Tensor& expected_logits = f.at("logits");
  if (step.logits.ndim() == 3) {  // dense [r, n, c] vs PyTorch's [n, c, R, R]
    const int64_t r = step.logits.dim(0), n = step.logits.dim(1), k = step.logits.dim(2);
    Tensor ours = Tensor::empty(expected_logits.shape());
    for (int64_t j = 0; j < r; ++j)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t e = 0; e < k; ++e) ours.data<float>()[(i * k + e) * r + j] = step.logits.data<float>()[(j * n + i) * k + e];
    EXPECT_TRUE(close_relative(ours, expected_logits, kValueTol)) << "logits";
  } else {
    EXPECT_TRUE(close_relative(step.logits, expected_logits, kValueTol)) << "logits";
  }
  EXPECT_NEAR(step.loss.item(), f.at("loss").item(), kValueTol * std::abs(f.at("loss").item()));
  backward(step.loss);
  for (const auto& nt : net->named_parameters())
    EXPECT_TRUE(close_relative(to_file_layout(nt.tensor.grad(), nt.layout), f.at("grad." + nt.name), kGradTol, kGradFloor))
        << "grad." << nt.name;
  for (const auto& nt : net->named_buffers())
    EXPECT_TRUE(close_relative(nt.tensor, f.at("state." + nt.name), kValueTol)) << "state." << nt.name;
  // the teacher's running statistics are not touched by its forward
  for (const auto& nt : teacher->named_buffers())
    EXPECT_EQ(nt.tensor.to_doubles(), weights.at("teacher." + nt.name).to_doubles()) << nt.name;
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (std::string model : {"preactresnet18", "wrn16_8"})
    for (std::string name : {"mixup", "manifold", "cutmix", "multimix", "dense", "dense_cam_softmax", "multimix_distill",
                             "dense_distill"})
      out.push_back({model, name});
  return out;
}
INSTANTIATE_TEST_SUITE_P(Methods, MethodFixture, ::testing::ValuesIn(all_cases()), case_name);

// The probe binary on fixture files: weights and teacher split into their own files as a user has them.
TEST(Probe, DenseDistillationThroughTheFileInterface) {
  const TensorFile weights = load_fixture("method_preactresnet18_weights", "1", "make_method_fixtures.py");
  const std::string dir = ::testing::TempDir(), fixture = std::string(MM_SOURCE_DIR) + "/tests/fixtures/method_preactresnet18_dense_distill.safetensors";
  std::map<std::string, Tensor> student, teacher;
  for (const auto& [name, t] : weights.tensors)
    (name.rfind("weights.", 0) == 0 ? student : teacher)[name.substr(name.find('.') + 1)] = t;
  save_safetensors(dir + "mm_probe_w.safetensors", student);
  save_safetensors(dir + "mm_probe_t.safetensors", teacher);
  const std::string cmd = std::string(MM_PROBE) + " --model preactresnet18 --num-classes 10 --weights " + dir +
                          "mm_probe_w.safetensors --teacher " + dir + "mm_probe_t.safetensors --gamma 0.5 --batch " + fixture +
                          " --method dense-multimix --dense-resolution 4 --attention gap-relu --out " + dir + "mm_probe_o.safetensors";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const TensorFile out = load_safetensors(dir + "mm_probe_o.safetensors");
  const TensorFile f = load_safetensors(fixture);
  EXPECT_TRUE(close_relative(out.at("logits"), f.at("logits"), kValueTol));
  EXPECT_TRUE(close_relative(out.at("loss"), f.at("loss"), kValueTol));
  EXPECT_TRUE(close_relative(out.at("grad.encoder.conv1.weight"), f.at("grad.encoder.conv1.weight"), kGradTol, kGradFloor));
  EXPECT_TRUE(close_relative(out.at("state.encoder.layer4.1.bn2.running_var"), f.at("state.encoder.layer4.1.bn2.running_var"), kValueTol));
}

}  // namespace
}  // namespace mm::testing
