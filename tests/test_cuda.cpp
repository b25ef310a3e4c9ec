// CPU-vs-CUDA parity of every op (ctest label cuda). Without a GPU every test skips with a message.
// Outputs and gradients are compared; the gradients are pre-filled with different garbage on the
// two sides, so a backward that assigns instead of accumulating shows up.
#include <cmath>
#include <functional>
#include <tuple>

#include "data/augment.h"
#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/distributed.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "layers/state_dict.h"
#include "mixup/dense.h"
#include "mixup/ema.h"
#include "mixup/method.h"
#include "mixup/ops.h"
#include "mixup/samplers.h"
#include "models/attacks.h"
#include "models/network.h"
#include "tests/fixtures.h"
#include "tests/op_cases.h"
#include "tests/sampler_checks.h"
#include "train/trainer.h"

namespace mm::testing {
namespace {

#define REQUIRE_GPU() \
  if (!cuda_available()) GTEST_SKIP() << "no usable GPU (or no CUDA backend in this build): CUDA test skipped, not passed"

Tensor random_float(const Shape& shape, Rng& rng, double lo = -1, double hi = 1) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(rng.uniform(lo, hi));
  return t;
}

// A small power of two: subtracting it back is exact for gradients of any size.
constexpr double kGarbage = 1.0 / 1024;

// Runs f on CPU inputs and on GPU copies; compares the outputs and, for inputs that require grad,
// the gradients of sum(w * f(x)) for fixed random w; and every floating input that does not
// require grad afterwards (what an op updates in place, such as batch norm's running statistics).
void check_parity(const std::function<Tensor(std::vector<Tensor>&)>& f, std::vector<Tensor> cpu_inputs, double tol = 1e-5) {
  Rng rng(77);
  std::vector<Tensor> gpu_inputs;
  for (Tensor& x : cpu_inputs) {
    Tensor g = x.clone().to(cuda_device());
    if (x.requires_grad()) {
      g.set_requires_grad(true);
      g.grad_ref().fill(kGarbage);  // the CPU side starts from zero
    }
    gpu_inputs.push_back(g);
  }
  // One side at a time: backward() consumes the whole tape.
  auto run = [&](std::vector<Tensor>& in) {
    Tensor out = f(in);
    return out.ndim() == 0 ? reshape(out, {1}) : out;
  };
  Tensor out_cpu = run(cpu_inputs);
  const bool differentiable = out_cpu.requires_grad();
  Tensor w = random_float(out_cpu.shape(), rng);
  if (differentiable) backward(sum(mul(out_cpu, w)));
  Tensor out_gpu = run(gpu_inputs);
  ASSERT_EQ(out_gpu.device(), cuda_device());
  EXPECT_TRUE(close_relative(out_gpu, out_cpu, tol)) << "forward";
  for (size_t k = 0; k < cpu_inputs.size(); ++k)
    if (!cpu_inputs[k].requires_grad() && cpu_inputs[k].dtype() == DType::F32)
      EXPECT_TRUE(close_relative(gpu_inputs[k], cpu_inputs[k], tol)) << "input " << k << " after the op";
  if (!differentiable) return;
  backward(sum(mul(out_gpu, w.to(cuda_device()))));
  for (size_t k = 0; k < cpu_inputs.size(); ++k) {
    if (!cpu_inputs[k].requires_grad()) continue;
    Tensor dc = cpu_inputs[k].grad();
    Tensor dg = add(gpu_inputs[k].grad().to(cpu()), Tensor::full(cpu_inputs[k].shape(), -kGarbage));
    EXPECT_TRUE(close_relative(dg, dc, tol, 1e-3)) << "gradient of input " << k;
  }
}

// Every entry of the op list (tests/op_cases.h), its float64 inputs made float32.
class OpParity : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpParity, CpuMatchesCuda) {
  REQUIRE_GPU();
  Rng rng(1);
  std::vector<Tensor> inputs;
  for (const Tensor& t : GetParam().inputs(rng)) {
    Tensor f = t.dtype() == DType::F64 ? t.to(DType::F32) : t;
    inputs.push_back(t.requires_grad() ? f.set_requires_grad(true) : f);
  }
  check_parity(GetParam().op, inputs);
}

INSTANTIATE_TEST_SUITE_P(Ops, OpParity, ::testing::ValuesIn(op_cases()), op_case_name);
INSTANTIATE_TEST_SUITE_P(ForwardOnly, OpParity, ::testing::ValuesIn(forward_only_op_cases()), op_case_name);

Tensor leaf(Tensor t) { return t.set_requires_grad(true); }

// Shapes larger than the list's (several GPU blocks, many channels): the same harness.
TEST(CudaParity, LargerShapes) {
  REQUIRE_GPU();
  Rng rng(2);
  check_parity([](auto& in) { return mul(in[0], in[1]); }, {leaf(random_float({300}, rng)), leaf(random_float({300}, rng))});
  check_parity([](auto& in) { return relu(in[0]); }, {leaf(random_float({1000}, rng))});
  check_parity([](auto& in) { return mean(in[0]); }, {leaf(random_float({70000}, rng))});
  struct C { int H, Cin, Cout, k, stride, pad; bool bias; };
  for (C c : {C{8, 3, 16, 3, 1, 1, false}, C{8, 16, 32, 3, 2, 1, true}, C{8, 16, 32, 1, 2, 0, false}, C{4, 32, 8, 1, 1, 0, true}}) {
    std::vector<Tensor> in{leaf(random_float({3, c.H, c.H, c.Cin}, rng)), leaf(random_float({c.Cout, c.k, c.k, c.Cin}, rng))};
    if (c.bias) in.push_back(leaf(random_float({c.Cout}, rng)));
    check_parity([c](auto& t) { return conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), c.stride, c.pad); }, in, 1e-5);
  }
  for (bool training : {true, false})
    check_parity([training](auto& in) { return batch_norm_case(in, training); },
                 {leaf(random_float({4, 3, 3, 8}, rng, -2, 3)), leaf(random_float({8}, rng, 0.5, 1.5)),
                  leaf(random_float({8}, rng)), random_float({8}, rng), random_float({8}, rng, 0.5, 2)});
  // the column reductions' launch shape (engine/cuda/context.cuh) at the size of a stage: 16 384 rows
  // in 64 slices, and 40 columns, whose second tile of 32 lanes is mostly empty; a bias gradient
  // (column sums) of that size; one column (a mean) over many rows
  for (bool relu : {false, true})
    check_parity([relu](auto& in) { return batch_norm_case(in, true, relu); },
                 {leaf(random_float({64, 16, 16, 40}, rng, -2, 3)), leaf(random_float({40}, rng, 0.5, 1.5)),
                  leaf(random_float({40}, rng)), random_float({40}, rng), random_float({40}, rng, 0.5, 2)}, 1e-4);
  check_parity([](auto& in) { return channel_add(in[0], in[1]); },
               {leaf(random_float({64, 16, 16, 40}, rng)), leaf(random_float({40}, rng))}, 1e-4);
  // group norm's sums (engine/ops/group_norm.cu): 1024 positions in several slices of N C = 1280
  // (example, channel) columns, 8 groups of 5 channels; and one group of all 64 channels
  for (auto [C, G] : {std::pair{40, 8}, {64, 1}})
    check_parity([groups = G](auto& in) { return group_norm(in[0], in[1], in[2], groups, 1e-5); },
                 {leaf(random_float({32, 32, 32, C}, rng, -2, 3)), leaf(random_float({C}, rng, 0.5, 1.5)),
                  leaf(random_float({C}, rng))}, 1e-4);
  check_parity([](auto& in) { return mean(in[0]); }, {leaf(random_float({1 << 20}, rng))}, 1e-4);
  // the losses at the size of dense MultiMix (a warp per row: 100 logits, 4 per lane, the last
  // pass of the warp a third full), and rows of a class count below the warp's 32 lanes
  for (int64_t classes : {100, 10}) {
    std::vector<int64_t> labels(3000);
    for (size_t q = 0; q < labels.size(); ++q) labels[q] = int64_t(q * 7 % classes);
    const Tensor ids = Tensor::from_vector<int64_t>(labels, {3000});
    check_parity([ids](auto& in) { return cross_entropy(in[0], ids.to(in[0].device())); },
                 {leaf(random_float({3000, classes}, rng, -8, 8))}, 1e-5);
    check_parity([](auto& in) { return soft_cross_entropy(in[0], in[1]); },
                 {leaf(random_float({3000, classes}, rng, -8, 8)), random_float({3000, classes}, rng, 0, 1)}, 1e-5);
    check_parity([](auto& in) { return softmax(in[0]); }, {leaf(random_float({3000, classes}, rng, -8, 8))}, 1e-5);
  }
  // a label outside [0, C) poisons its row on the GPU (the CPU throws)
  const std::vector<double> poisoned = one_hot(Tensor::from_vector<int64_t>({1, 7}, {2}).to(cuda_device()), 4).to_doubles();
  EXPECT_EQ(std::vector<double>(poisoned.begin(), poisoned.begin() + 4), (std::vector<double>{0, 1, 0, 0}));
  for (int c = 4; c < 8; ++c) EXPECT_TRUE(std::isnan(poisoned[c]));
}

// The bfloat16 kernels (--precision bf16) against their CPU twins (the float32 kernels on widened
// inputs, rounded once): the same arithmetic but for the order of the float sums, so the two differ
// by a rounding flip at most: one bfloat16 step, 2^-7 of a value, within 1e-2 of the largest.
TEST(CudaParity, BFloat16Kernels) {
  REQUIRE_GPU();
  Rng rng(9);
  auto bf = [](const Tensor& t) { return cast(t, DType::BF16); };
  auto back = [](const Tensor& t) { return cast(t, DType::F32); };
  constexpr double tol = 1e-2;
  check_parity([&](auto& in) { return back(add(bf(in[0]), bf(in[1]))); },
               {leaf(random_float({5, 70}, rng)), leaf(random_float({5, 70}, rng))}, tol);
  check_parity([&](auto& in) { return back(relu(bf(in[0]))); }, {leaf(random_float({1000}, rng))}, tol);
  check_parity([&](auto& in) { return back(scale(bf(in[0]), 0.5)); }, {leaf(random_float({300}, rng))}, tol);
  struct C { int H, Cin, Cout, k, stride, pad; bool bias; };
  for (C c : {C{8, 3, 16, 3, 1, 1, false}, C{8, 16, 32, 3, 2, 1, true}, C{8, 16, 32, 1, 2, 0, false}}) {
    std::vector<Tensor> in{leaf(random_float({3, c.H, c.H, c.Cin}, rng)), leaf(random_float({c.Cout, c.k, c.k, c.Cin}, rng))};
    if (c.bias) in.push_back(leaf(random_float({c.Cout}, rng)));
    check_parity([&, c](auto& t) {
      return back(conv2d(bf(t[0]), bf(t[1]), c.bias ? bf(t[2]) : Tensor(), c.stride, c.pad));
    }, in, tol);
  }
  for (bool training : {true, false})
    for (bool fused_relu : {false, true})
      check_parity([&, training, fused_relu](auto& in) {
        BatchNormBuffers buffers{in[3], in[4], Tensor()};  // float32, as the parameters
        return back(batch_norm(bf(in[0]), in[1], in[2], buffers, training, 0.1, 1e-5, fused_relu));
      }, {leaf(random_float({4, 3, 3, 8}, rng, -2, 3)), leaf(random_float({8}, rng, 0.5, 1.5)), leaf(random_float({8}, rng)),
          random_float({8}, rng), random_float({8}, rng, 0.5, 2)}, tol);
  check_parity([&](auto& in) { return back(group_norm(bf(in[0]), in[1], in[2], 2, 1e-5)); },
               {leaf(random_float({3, 4, 4, 8}, rng, -2, 3)), leaf(random_float({8}, rng, 0.5, 1.5)),
                leaf(random_float({8}, rng))}, tol);
}

TEST(CudaParity, DenseAttentionAndWeights) {
  REQUIRE_GPU();
  Rng rng(5);
  Tensor weights = random_float({5, 4, 9}, rng, 0, 1);
  Tensor z = random_float({4, 5, 6}, rng), W = random_float({3, 6}, rng), y = Tensor::from_vector<int64_t>({0, 2, 1, 1}, {4});
  for (Attention kind : {Attention::GapRelu, Attention::GapSoftmax, Attention::CamRelu, Attention::CamSoftmax, Attention::Uniform}) {
    Tensor a_cpu = dense_attention(z, y, W, kind);
    Tensor a_gpu = dense_attention(z.to(cuda_device()), y.to(cuda_device()), W.to(cuda_device()), kind);
    EXPECT_TRUE(close_relative(a_gpu, a_cpu, 1e-5));
    DenseWeights w_cpu = dense_weights(a_cpu, weights), w_gpu = dense_weights(a_gpu, weights.to(cuda_device()));
    EXPECT_TRUE(close_relative(w_gpu.mtilde, w_cpu.mtilde, 1e-5));
    EXPECT_TRUE(close_relative(w_gpu.s, w_cpu.s, 1e-5));
    // the step's path: one cooperative kernel for both, the same numbers as the two kernels
    DenseWeights fused = dense_mixing_weights(z.to(cuda_device()), y.to(cuda_device()), W.to(cuda_device()), kind,
                                              weights.to(cuda_device()));
    EXPECT_EQ(fused.mtilde.to(cpu()).to_doubles(), w_gpu.mtilde.to(cpu()).to_doubles());
    EXPECT_EQ(fused.s.to(cpu()).to_doubles(), w_gpu.s.to(cpu()).to_doubles());
  }
  // more examples than the GPU holds blocks at once (the blocks take the examples in turn), and
  // more columns r n than threads
  Tensor many_z = random_float({5000, 3, 4}, rng), many_lambda = random_float({3, 5000, 40}, rng, 0, 1);
  Tensor many_y = Tensor::zeros({5000}, DType::I64), many_W = random_float({2, 4}, rng);
  DenseWeights cpu_side = dense_mixing_weights(many_z, many_y, many_W, Attention::GapSoftmax, many_lambda);
  DenseWeights gpu_side = dense_mixing_weights(many_z.to(cuda_device()), many_y.to(cuda_device()),
                                               many_W.to(cuda_device()), Attention::GapSoftmax, many_lambda.to(cuda_device()));
  EXPECT_TRUE(close_relative(gpu_side.mtilde, cpu_side.mtilde, 1e-5));
  EXPECT_TRUE(close_relative(gpu_side.s, cpu_side.s, 1e-5));
}

TEST(CudaParity, SgdAndEma) {
  REQUIRE_GPU();
  Rng rng(6);
  Tensor p = random_float({100}, rng).set_requires_grad(true), g = random_float({100}, rng);
  Tensor pg = p.clone().to(cuda_device()).set_requires_grad(true);
  Sgd a({p}, SgdOptions{0.1, 0.9, 1e-4, true}), b({pg}, SgdOptions{0.1, 0.9, 1e-4, true});
  for (int step = 0; step < 3; ++step) {
    p.grad_ref().copy_from(g);
    pg.grad_ref().copy_from(g);
    a.step(0.1);
    b.step(0.1);
  }
  EXPECT_TRUE(close_relative(pg, p, 1e-6));
  auto s_cpu = make_network("preactresnet18", 2, 10, 1), t_cpu = make_network("preactresnet18", 2, 10, 2);
  auto s_gpu = make_network("preactresnet18", 2, 10, 1), t_gpu = make_network("preactresnet18", 2, 10, 2);
  s_gpu->to(cuda_device());
  t_gpu->to(cuda_device());
  ema_update(*t_cpu, *s_cpu, 0.9);
  ema_update(*t_gpu, *s_gpu, 0.9);
  const auto expected = state_dict(*t_cpu);
  for (const auto& [name, t] : state_dict(*t_gpu)) EXPECT_TRUE(close_relative(t.to(cpu()), expected.at(name), 1e-6)) << name;
}

// CUDA graphs (train/step_graph.h): a run whose steps are captured and replayed equals the same run
// stepped eagerly. Dense MultiMix + distillation with mix_prob 0.5 takes both kinds of step (two
// graphs), its draws must change at every replay (the step key), and a new learning rate captures anew.
// In float32 and with the encoders in bfloat16 (--precision bf16, the GPU's training default).
// With two_streams, the second run also has the teacher's forward on the side stream (--teacher-stream,
// engine/device.h SideStream), eagerly or as a parallel branch of each captured graph.
void check_steps_agree(DType compute, bool graphs, bool two_streams) {
  SCOPED_TRACE(fmt::format("{}{}{}", dtype_name(compute), graphs ? ", CUDA graphs" : "", two_streams ? ", two streams" : ""));
  MethodConfig config;
  config.method = Method::DenseMultiMix;
  config.n = 50;
  config.mix_prob = 0.5;
  config.distill = true;
  MethodConfig other_config = config;
  other_config.teacher_stream = two_streams;
  struct Run {
    std::unique_ptr<Network> student = make_network("preactresnet18", 4, 10, 3), teacher = make_network("preactresnet18", 4, 10, 4);
    Sgd sgd{student->parameters(), SgdOptions{}};
    std::vector<double> losses;
  };
  Run eager, other;
  for (Run* r : {&eager, &other}) {
    r->student->to(cuda_device());
    r->teacher->to(cuda_device());
    r->student->set_compute_dtype(compute);
    r->teacher->set_compute_dtype(compute);
  }
  Trainer a(*eager.student, eager.teacher.get(), eager.sgd, config, 9, cuda_device());
  Trainer b(*other.student, other.teacher.get(), other.sgd, other_config, 9, cuda_device());
  if (graphs) b.use_cuda_graphs();
  Rng rng(8);
  for (int step = 0; step < 12; ++step) {
    const Tensor x = random_float({16, 32, 32, 3}, rng).to(cuda_device()), x2 = random_float({16, 32, 32, 3}, rng);
    Tensor y = Tensor::empty({16}, DType::I64);
    for (int i = 0; i < 16; ++i) y.data<int64_t>()[i] = int64_t(rng.below(10));
    const double lr = step < 8 ? 0.1 : 0.01;
    eager.losses.push_back(a.step(x, x2, y, 10, 0, step, lr).item());
    other.losses.push_back(b.step(x, x2, y, 10, 0, step, lr).item());
    EXPECT_NEAR(other.losses.back(), eager.losses.back(), 1e-3 * std::abs(eager.losses.back())) << "step " << step;
  }
  // else the steps ran eagerly: a capture failed (its reason was printed)
  if (graphs) EXPECT_GE(b.cuda_graph_replays(), 4);
  const auto expected = state_dict(*eager.student);
  for (const auto& [name, t] : state_dict(*other.student))
    EXPECT_TRUE(close_relative(t.to(cpu()), expected.at(name).to(cpu()), 1e-3)) << name;
  const auto expected_teacher = state_dict(*eager.teacher);
  for (const auto& [name, t] : state_dict(*other.teacher))
    EXPECT_TRUE(close_relative(t.to(cpu()), expected_teacher.at(name).to(cpu()), 1e-3)) << "teacher " << name;
}

TEST(CudaGraph, ReplayedStepsEqualEagerSteps) {
  REQUIRE_GPU();
  check_steps_agree(DType::F32, /*graphs=*/true, /*two_streams=*/false);
  check_steps_agree(DType::BF16, /*graphs=*/true, /*two_streams=*/false);
}

// The teacher's forward on the side stream, beside the student's: the same steps as on one stream.
TEST(CudaTwoStreams, TeacherBesideTheStudentGivesTheSameSteps) {
  REQUIRE_GPU();
  check_steps_agree(DType::F32, /*graphs=*/false, /*two_streams=*/true);
  check_steps_agree(DType::BF16, /*graphs=*/false, /*two_streams=*/true);
  check_steps_agree(DType::F32, /*graphs=*/true, /*two_streams=*/true);
  check_steps_agree(DType::BF16, /*graphs=*/true, /*two_streams=*/true);
}

// The NCCL path of data-parallel training (engine/distributed.h) on the one GPU a machine may have:
// a communicator of this process alone that still goes through NCCL. Over one rank every
// collective is the identity, and a data-parallel step (gradients averaged in buckets on NCCL's
// stream during backward, synchronised batch norm) is exactly the plain step. Several GPUs:
// docs/distributed.md "Checks".
TEST(Nccl, OneRankThroughNcclIsTheIdentity) {
  REQUIRE_GPU();
#ifndef MM_WITH_NCCL
  GTEST_SKIP() << "this build has no NCCL: NCCL test skipped, not passed";
#else
  const Communicator ranks = Communicator::single_process_through_collectives();
  Rng rng(9);
  const Tensor x = random_float({1000}, rng);
  Tensor t = x.to(cuda_device());
  ranks.sum(t);
  ranks.average(t);
  ranks.broadcast(t, 0);
  ranks.average_async({t});
  ranks.join();
  EXPECT_EQ(t.to(cpu()).to_doubles(), x.to_doubles());

  MethodConfig multimix;
  multimix.method = Method::MultiMix;
  multimix.n = 50;
  multimix.mix_prob = 1;
  const Tensor images = random_float({16, 32, 32, 3}, rng);
  std::vector<int64_t> label_values(16);
  for (int64_t& l : label_values) l = static_cast<int64_t>(rng.below(10));
  const Tensor labels = Tensor::from_vector(label_values, {16});
  auto plain = make_network("preactresnet18", 8, 10, 0), parallel = make_network("preactresnet18", 8, 10, 0);
  plain->to(cuda_device());
  parallel->to(cuda_device());
  Sgd sgd_plain(plain->parameters(), SgdOptions{0.1, 0.9, 1e-4, false});
  Sgd sgd_parallel(parallel->parameters(), SgdOptions{0.1, 0.9, 1e-4, false});
  Trainer a(*plain, nullptr, sgd_plain, multimix, 0, cuda_device()), b(*parallel, nullptr, sgd_parallel, multimix, 0, cuda_device());
  for (int step = 0; step < 2; ++step) a.step(images, Tensor(), labels, 10, 0, step, 0.1);
  b.set_ranks(ranks, /*sync_bn=*/true);
  set_batch_norm_sync(&ranks);
  for (int step = 0; step < 2; ++step) b.step(images, Tensor(), labels, 10, 0, step, 0.1);
  set_batch_norm_sync(nullptr);
  const auto expected = state_dict(*plain);
  for (const auto& [name, tensor] : state_dict(*parallel))
    EXPECT_TRUE(close_relative(tensor.to(cpu()), expected.at(name).to(cpu()), 1e-5)) << name;
#endif
}

// FGSM and PGD on the GPU against the same attacks on the CPU (tests/test_evaluation.cpp checks the
// CPU against PyTorch). A gradient component within rounding of zero may take the other sign, so a
// few pixels may differ by a step.
TEST(CudaParity, Attacks) {
  REQUIRE_GPU();
  const TensorFile f = load_fixture("attacks_preactresnet18", "1", "make_attack_fixtures.py");
  auto on = [&](Device device) {
    auto net = make_network(f.metadata.at("model"), std::stoi(f.metadata.at("width")),
                            std::stoi(f.metadata.at("num_classes")), 0);
    load_state_dict(*net, f, "weights.");
    net->train(false);
    for (Tensor p : net->parameters()) p.set_requires_grad(false);
    net->to(device);
    return net;
  };
  auto cpu_net = on(cpu()), gpu_net = on(cuda_device());
  const PixelClassifier cpu_logits = [&](const Tensor& x) { return cpu_net->forward(normalise_pixels(x)); };
  const PixelClassifier gpu_logits = [&](const Tensor& x) { return gpu_net->forward(normalise_pixels(x)); };
  const Tensor x = nchw_to_nhwc(f.at("images")), labels = f.at("labels"), start = nchw_to_nhwc(f.at("start"));
  auto expect_same = [](const Tensor& gpu_adv, const Tensor& cpu_adv, const char* what) {
    ASSERT_EQ(gpu_adv.device(), cuda_device());
    const std::vector<double> g = gpu_adv.to_doubles(), c = cpu_adv.to_doubles();
    int64_t differ = 0;
    for (size_t i = 0; i < g.size(); ++i) differ += std::abs(g[i] - c[i]) > 1e-5;
    EXPECT_LE(differ, int64_t(g.size()) / 1000) << what;
  };
  const Tensor gx = x.to(cuda_device()), glabels = labels.to(cuda_device());
  expect_same(fgsm(gpu_logits, gx, glabels, 8.0 / 255), fgsm(cpu_logits, x, labels, 8.0 / 255), "fgsm");
  expect_same(pgd(gpu_logits, gx, glabels, 4.0 / 255, 2.0 / 255, 3, start), pgd(cpu_logits, x, labels, 4.0 / 255, 2.0 / 255, 3, start),
              "pgd");
}

// The training set on the GPU (train_cifar --augment-on device): the augmentation kernel gives the
// host's values (the same crop_flip_at and augmented_value), both views, with and without
// augmentation, and a loader that keeps its images on the GPU gives the workers' batches.
TEST(CudaParity, AugmentationOnTheGpu) {
  REQUIRE_GPU();
  const int64_t N = 40, H = 32, W = 32;
  Tensor images = Tensor::empty({N, H, W, 3}, DType::U8);
  for (int64_t i = 0; i < images.numel(); ++i) images.data<uint8_t>()[i] = static_cast<uint8_t>((i * 37 + i / 97) % 256);
  Tensor labels = Tensor::empty({N}, DType::I64);
  for (int64_t i = 0; i < N; ++i) labels.data<int64_t>()[i] = i % 10;
  const Tensor indices = Tensor::from_vector<int64_t>({3, 39, 0, 17, 17}, {5});
  const Tensor positions = Tensor::from_vector<int64_t>({0, 1, 2, 3, 1234567890123}, {5});
  const Tensor gpu_images = images.to(cuda_device());
  for (int view : {0, 1})
    for (bool augment : {true, false}) {
      const Tensor cpu = augment_batch(images, indices, positions, 99, 7, view, augment);
      const Tensor gpu = augment_batch(gpu_images, indices.to(cuda_device()), positions.to(cuda_device()), 99, 7, view, augment);
      ASSERT_EQ(gpu.device(), cuda_device());
      EXPECT_TRUE(close_relative(gpu, cpu, 1e-6)) << "view " << view << (augment ? " augmented" : " plain");
    }
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 3;
  o.epoch = 2;
  o.two_views = true;
  o.pinned = true;
  BatchLoader host(Dataset{images, labels, 10}, o);
  o.device_images = gpu_images;
  BatchLoader device(Dataset{images, labels, 10}, o);
  Batch a, b;
  while (host.next(a)) {
    ASSERT_TRUE(device.next(b));
    ASSERT_EQ(b.images.device(), cuda_device());
    EXPECT_TRUE(close_relative(b.images, a.images, 1e-6));
    EXPECT_TRUE(close_relative(b.images2, a.images2, 1e-6));
    EXPECT_EQ(b.labels.to_doubles(), a.labels.to_doubles());
  }
  EXPECT_FALSE(device.next(b));
}

// The cuRAND Dirichlet sampler: columns on the simplex, moments of Dir(alpha 1_m), reproducible.
// m = 8 gives each of a column's eight lanes one draw, m = 100 gives them 12 or 13 (mixup/samplers.cu).
TEST(CudaSamplers, DirichletOnTheGpu) {
  REQUIRE_GPU();
  for (auto [m, n, alpha] : {std::tuple{8, 40000, 0.5}, {8, 40000, 2.0}, {100, 4000, 0.5}, {100, 4000, 2.0}}) {
    SCOPED_TRACE(fmt::format("m {} alpha {}", m, alpha));
    Tensor l = sample_dirichlet_lambda(31, m, n, alpha, alpha, cuda_device());
    ASSERT_EQ(l.device(), cuda_device());
    const std::vector<double> v = l.to_doubles();
    double s2 = 0;
    for (int k = 0; k < n; ++k) {
      double total = 0;
      for (int i = 0; i < m; ++i) total += v[i * n + k], s2 += v[i * n + k] * v[i * n + k];
      ASSERT_NEAR(total, 1.0, 1e-5);
    }
    const double var = s2 / (m * n) - 1.0 / (m * m), expected = (m - 1.0) / (m * m * (m * alpha + 1));
    EXPECT_NEAR(var, expected, 0.03 * expected) << alpha;
  }
  for (int m : {4, 100})
    EXPECT_EQ(sample_dirichlet_lambda_per_position(5, 3, m, 9, 0.5, 2, cuda_device()).to_doubles(),
              sample_dirichlet_lambda_per_position(5, 3, m, 9, 0.5, 2, cuda_device()).to_doubles());
}

// The small cuRAND samplers obey the same laws as the CPU ones (tests/sampler_checks.h).
TEST(CudaSamplers, BetaPermutationsAndBoxesOnTheGpu) {
  REQUIRE_GPU();
  expect_beta_moments(cuda_device());
  expect_uniform_permutations(cuda_device());
  expect_cutmix_boxes(cuda_device());
}

// Whole training steps on the GPU against the PyTorch fixtures of every method (both models).
class CudaMethodFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaMethodFixture, StepMatchesPyTorch) {
  REQUIRE_GPU();
  for (std::string model : {"preactresnet18", "wrn16_8"}) {
    const TensorFile weights = load_fixture("method_" + model + "_weights", "2", "make_method_fixtures.py");
    const TensorFile f = load_fixture("method_" + model + "_" + GetParam(), "2", "make_method_fixtures.py");
    const int width = std::stoi(f.metadata.at("width")), classes = std::stoi(f.metadata.at("num_classes"));
    auto net = make_network(model, width, classes, 0), teacher = make_network(model, width, classes, 0);
    load_state_dict(*net, weights, "weights.");
    load_state_dict(*teacher, weights, "teacher.");
    net->to(cuda_device());
    teacher->to(cuda_device());
    const MethodConfig config = fixture_method_config(f);
    const Draws d = read_draws(config.method, f);
    StepResult step = mixed_loss(*net, teacher.get(), nchw_to_nhwc(f.at("images")).to(cuda_device()),
                                 nchw_to_nhwc(f.at("images2")).to(cuda_device()), f.at("labels").to(cuda_device()), classes,
                                 config, d);
    EXPECT_NEAR(step.loss.item(), f.at("loss").item(), 1e-4 * std::abs(f.at("loss").item())) << model;
    backward(step.loss);
    for (const auto& nt : net->named_parameters())
      EXPECT_TRUE(close_relative(to_file_layout(nt.tensor.grad().to(cpu()), nt.layout), f.at("grad." + nt.name), 1e-3, 1e-2))
          << model << " grad." << nt.name;
    for (const auto& nt : net->named_buffers())
      EXPECT_TRUE(close_relative(nt.tensor.to(cpu()), f.at("state." + nt.name), 1e-4)) << model << " state." << nt.name;
  }
}

// The same steps with the encoders in bfloat16 (--precision bf16) on the GPU, against the exact
// step within bfloat16's tolerances (tests/fixtures.h): the model fixtures, MultiMix and dense
// MultiMix with distillation.
TEST(CudaBFloat16, StepsFollowTheExactSteps) {
  REQUIRE_GPU();
  for (std::string model : {"preactresnet18", "wrn16_8"}) {
    const TensorFile f = load_fixture(model, "2", "make_model_fixtures.py");
    auto net = make_network(model, std::stoi(f.metadata.at("width")), std::stoi(f.metadata.at("num_classes")), 0);
    load_state_dict(*net, f, "weights.");
    net->to(cuda_device());
    net->train(true);
    net->set_compute_dtype(DType::BF16);
    Tensor logits = net->forward(nchw_to_nhwc(f.at("images")).to(cuda_device()));
    backward(cross_entropy(logits, f.at("labels").to(cuda_device())));
    std::vector<std::pair<std::string, Tensor>> grads;
    for (const auto& nt : net->named_parameters())
      grads.push_back({nt.name, to_file_layout(nt.tensor.grad().to(cpu()), nt.layout)});
    expect_bf16_step_close(logits.to(cpu()), f.at("logits"), grads, f, 1e-2);
  }
  for (std::string model : {"preactresnet18", "wrn16_8"})
    for (std::string method : {"multimix", "dense_distill"}) {
      const TensorFile weights = load_fixture("method_" + model + "_weights", "2", "make_method_fixtures.py");
      const TensorFile f = load_fixture("method_" + model + "_" + method, "2", "make_method_fixtures.py");
      const int width = std::stoi(f.metadata.at("width")), classes = std::stoi(f.metadata.at("num_classes"));
      auto net = make_network(model, width, classes, 0), teacher = make_network(model, width, classes, 0);
      load_state_dict(*net, weights, "weights.");
      load_state_dict(*teacher, weights, "teacher.");
      for (Network* n : {net.get(), teacher.get()}) n->to(cuda_device()), n->set_compute_dtype(DType::BF16);
      const MethodConfig config = fixture_method_config(f);
      net->train(true);
      StepResult step = mixed_loss(*net, teacher.get(), nchw_to_nhwc(f.at("images")).to(cuda_device()),
                                   nchw_to_nhwc(f.at("images2")).to(cuda_device()), f.at("labels").to(cuda_device()),
                                   classes, config, read_draws(config.method, f));
      backward(step.loss);
      Tensor logits = step.logits.to(cpu());
      if (logits.ndim() == 3) logits = positions_to_nchw(logits, config.dense_resolution);
      std::vector<std::pair<std::string, Tensor>> grads;
      for (const auto& nt : net->named_parameters())
        grads.push_back({nt.name, to_file_layout(nt.tensor.grad().to(cpu()), nt.layout)});
      expect_bf16_step_close(logits, f.at("logits"), grads, f, 1e-2);
    }
}

INSTANTIATE_TEST_SUITE_P(Methods, CudaMethodFixture,
                         ::testing::Values("mixup", "manifold", "cutmix", "multimix", "dense", "dense_cam_softmax",
                                           "multimix_distill", "dense_distill"));

}  // namespace
}  // namespace mm::testing
