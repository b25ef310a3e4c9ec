// Every method of docs/math.md §3 against the PyTorch reference (tests/reference/make_method_fixtures.py),
// for both models, with and without distillation; and the probe binary on the same files.
#include <chrono>
#include <filesystem>

#include "engine/autograd.h"
#include "layers/state_dict.h"
#include "mixup/method.h"
#include "models/network.h"
#include "train/trainer.h"
#include "tests/fixtures.h"

namespace mm::testing {
namespace {

// See test_models.cpp. The fixtures use batches whose ReLU inputs all keep a margin from 0
// (tests/reference/models.py, relu_margin): otherwise float32 on some BLAS kernel may take the
// other side of a kink than float64 and move a gradient by percents.
// The fixtures hold float64 values: float32 runs are checked at float32 tolerances, float64 runs
// (no rounding or ReLU-kink flip can hide or fake a difference there) at 1e-9.
constexpr double kValueTol = 1e-5, kGradTol = 1e-4, kGradFloor = 1e-2, kFloat64Tol = 1e-9;

struct Case {
  std::string model, name;
  DType dtype;
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const DType t = info.param.dtype;
  return info.param.model + "_" + info.param.name + (t == DType::F64 ? "_float64" : t == DType::BF16 ? "_bfloat16" : "");
}

class MethodFixture : public ::testing::TestWithParam<Case> {};

TEST_P(MethodFixture, StepMatchesPyTorch) {
  const Case c = GetParam();
  const TensorFile weights = load_fixture("method_" + c.model + "_weights", "2", "make_method_fixtures.py");
  const TensorFile f = load_fixture("method_" + c.model + "_" + c.name, "2", "make_method_fixtures.py");
  const int width = std::stoi(f.metadata.at("width")), classes = std::stoi(f.metadata.at("num_classes"));
  auto net = make_network(c.model, width, classes, 0), teacher = make_network(c.model, width, classes, 0);
  load_state_dict(*net, weights, "weights.");
  load_state_dict(*teacher, weights, "teacher.");
  // bfloat16: float32 networks whose encoders compute in bfloat16 (tolerances: tests/fixtures.h)
  const bool bf16 = c.dtype == DType::BF16;
  const DType dtype = compute_dtype(c.dtype);
  net->to(dtype);
  teacher->to(dtype);
  if (bf16) net->set_compute_dtype(DType::BF16), teacher->set_compute_dtype(DType::BF16);
  const bool f64 = c.dtype == DType::F64;
  const double value_tol = f64 ? kFloat64Tol : kValueTol, grad_tol = f64 ? kFloat64Tol : kGradTol;

  const MethodConfig config = fixture_method_config(f);
  const Draws d = read_draws(config.method, f);

  net->train(true);
  StepResult step = mixed_loss(*net, teacher.get(), nchw_to_nhwc(f.at("images")).to(dtype),
                               nchw_to_nhwc(f.at("images2")).to(dtype), f.at("labels"), classes, config, d);
  EXPECT_EQ(step.loss.dtype(), dtype);
  const Tensor logits = step.logits.ndim() == 3 ? positions_to_nchw(step.logits, config.dense_resolution) : step.logits;
  if (bf16) {
    EXPECT_NEAR(step.loss.item(), f.at("loss").item(), 0.03 * std::abs(f.at("loss").item()));
    backward(step.loss);
    std::vector<std::pair<std::string, Tensor>> grads;
    for (const auto& nt : net->named_parameters()) grads.push_back({nt.name, to_file_layout(nt.tensor.grad(), nt.layout)});
    return expect_bf16_step_close(logits, f.at("logits"), grads, f, kGradFloor);
  }
  EXPECT_TRUE(close_relative(logits, f.at("logits"), value_tol)) << "logits";
  EXPECT_NEAR(step.loss.item(), f.at("loss").item(), value_tol * std::abs(f.at("loss").item()));
  backward(step.loss);
  for (const auto& nt : net->named_parameters())
    EXPECT_TRUE(close_relative(to_file_layout(nt.tensor.grad(), nt.layout), f.at("grad." + nt.name), grad_tol, kGradFloor))
        << "grad." << nt.name;
  for (const auto& nt : net->named_buffers())
    EXPECT_TRUE(close_relative(nt.tensor, f.at("state." + nt.name), value_tol)) << "state." << nt.name;
  // the teacher's running statistics are not touched by its forward
  for (const auto& nt : teacher->named_buffers())
    EXPECT_EQ(nt.tensor.to_doubles(), weights.at("teacher." + nt.name).to_doubles()) << nt.name;
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (std::string model : {"preactresnet18", "wrn16_8"})
    for (std::string name : {"mixup", "manifold", "cutmix", "multimix", "dense", "dense_cam_softmax", "multimix_distill",
                             "dense_distill"})
      for (DType dtype : {DType::F32, DType::F64}) out.push_back({model, name, dtype});
  // --precision bf16: mixing after the encoder (MultiMix, dense with distillation) and inside it
  // (manifold mixup: the hidden state leaves the encoder in float32 and enters it again)
  for (std::string model : {"preactresnet18", "wrn16_8"})
    for (std::string name : {"manifold", "multimix", "dense_distill"}) out.push_back({model, name, DType::BF16});
  return out;
}
INSTANTIATE_TEST_SUITE_P(Methods, MethodFixture, ::testing::ValuesIn(all_cases()), case_name);

// The probe binary on fixture files: weights and teacher split into their own files as a user has
// them; float32, and float64 at 1e-9.
void check_probe_dense_distillation(const std::string& dtype, double value_tol, double grad_tol) {
  const TensorFile weights = load_fixture("method_preactresnet18_weights", "2", "make_method_fixtures.py");
  const std::string dir = ::testing::TempDir(), fixture = std::string(MM_SOURCE_DIR) + "/tests/fixtures/method_preactresnet18_dense_distill.safetensors";
  std::map<std::string, Tensor> student, teacher;
  for (const auto& [name, t] : weights.tensors)
    (name.rfind("weights.", 0) == 0 ? student : teacher)[name.substr(name.find('.') + 1)] = t;
  save_safetensors(dir + "mm_probe_w.safetensors", student);
  save_safetensors(dir + "mm_probe_t.safetensors", teacher);
  const std::string out_path = dir + "mm_probe_o_" + dtype + ".safetensors";
  const std::string cmd = std::string(MM_PROBE) + " --model preactresnet18 --num-classes 10 --weights " + dir +
                          "mm_probe_w.safetensors --teacher " + dir + "mm_probe_t.safetensors --gamma 0.5 --batch " + fixture +
                          " --method dense-multimix --dense-resolution 4 --attention gap-relu --dtype " + dtype + " --out " + out_path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const TensorFile out = load_safetensors(out_path);
  const TensorFile f = load_safetensors(fixture);
  EXPECT_EQ(out.at("loss").dtype(), dtype == "float64" ? DType::F64 : DType::F32);
  EXPECT_TRUE(close_relative(out.at("logits"), f.at("logits"), value_tol));
  EXPECT_TRUE(close_relative(out.at("loss"), f.at("loss"), value_tol));
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("grad.", 0) == 0)
      EXPECT_TRUE(close_relative(out.at(name), t, grad_tol, kGradFloor)) << name;
  EXPECT_TRUE(close_relative(out.at("state.encoder.layer4.1.bn2.running_var"), f.at("state.encoder.layer4.1.bn2.running_var"), value_tol));
}

// Trainer::time_phases (bench --phases): a dense + distillation step spends time in each of its six
// phases, the phases lie within the step, an erm step never reaches the teacher's, and a trainer
// that stopped timing adds nothing.
TEST(StepPhases, EveryPhaseOfADistillationStepIsTimed) {
  auto student = make_network("preactresnet18", 2, 10, 3), teacher = make_network("preactresnet18", 2, 10, 4);
  Sgd sgd(student->parameters(), SgdOptions{});
  MethodConfig dense;
  dense.method = Method::DenseMultiMix;
  dense.n = 20;
  dense.mix_prob = 1;
  dense.distill = true;
  Trainer trainer(*student, teacher.get(), sgd, dense, 1, cpu()), erm(*student, nullptr, sgd, MethodConfig{}, 1, cpu());
  Rng rng(3);
  auto batch = [&rng](const Shape& shape) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(rng.uniform() - 0.5);
    return t;
  };
  const Tensor x = batch({4, 32, 32, 3}), x2 = batch({4, 32, 32, 3}), y = Tensor::from_vector<int64_t>({0, 3, 3, 9}, {4});

  PhaseSeconds seconds{}, erm_seconds{};
  trainer.time_phases(&seconds);
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < 2; ++step) trainer.step(x, x2, y, 10, 0, step, 0.1);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double sum = 0;
  for (int p = 0; p < kPhases; ++p) {
    EXPECT_GT(seconds[p], 0.0) << phase_name(static_cast<Phase>(p));
    sum += seconds[p];
  }
  EXPECT_LE(sum, wall);

  trainer.time_phases(nullptr);
  const PhaseSeconds before = seconds;
  trainer.step(x, x2, y, 10, 0, 2, 0.1);
  EXPECT_EQ(seconds, before);

  erm.time_phases(&erm_seconds);
  erm.step(x, Tensor(), y, 10, 0, 0, 0.1);
  EXPECT_EQ(erm_seconds[static_cast<int>(Phase::Teacher)], 0.0);
  EXPECT_GT(erm_seconds[static_cast<int>(Phase::Backward)], 0.0);
}

TEST(Probe, DenseDistillationThroughTheFileInterface) { check_probe_dense_distillation("float32", kValueTol, kGradTol); }
TEST(Probe, DenseDistillationInFloat64) { check_probe_dense_distillation("float64", kFloat64Tol, kFloat64Tol); }

}  // namespace
}  // namespace mm::testing
