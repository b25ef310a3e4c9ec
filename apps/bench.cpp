// bench: training throughput (images/s) of one full training step (forward, backward, SGD update)
// on random data, for erm, MultiMix over n, dense MultiMix and dense + distillation, each with its
// step cost relative to erm measured in the same run (the paper's Figure 5). Under mpirun -np K it
// measures data-parallel training (docs/distributed.md): K ranks of --batch-size each, images/s of
// all ranks together, and the time a step waits for the gradient average.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "apps/flags.h"
#include "engine/atomic_file.h"
#include "engine/ops/batchnorm_kernels.h"
#include "mixup/dense.h"
#include "mixup/ops.h"
#include "mixup/samplers.h"
#include "report/plot.h"
#include "train/trainer.h"

namespace mm {
namespace {

struct Result {
  std::string method;
  double images_per_s;
  int n;                     // the method's number of tuples (0: erm)
  double averaging_ms = 0;  // per step, waiting for the gradient average (data-parallel runs)
};

// The paper's Figure 5 as a chart: training speed against n (log scale), MultiMix as a line, erm as
// the level it starts from, dense MultiMix and dense + distillation (n = 1000) as points.
std::string speed_chart(const std::vector<Result>& results, const std::string& title) {
  plot::Chart c;
  c.title = title, c.x_label = "n (interpolated tuples)", c.y_label = "training images/s", c.log_x = true;
  plot::Series multimix{"MultiMix", {}, {}, false, true}, erm{"erm", {}, {}, true};
  for (const Result& r : results) {
    if (r.method.rfind("multimix", 0) == 0) multimix.x.push_back(r.n), multimix.y.push_back(r.images_per_s);
  }
  for (const Result& r : results) {
    if (r.n == 0 && !multimix.x.empty()) {
      erm.x = {multimix.x.front(), multimix.x.back()};
      erm.y = {r.images_per_s, r.images_per_s};
    }
  }
  c.series = {multimix, erm};
  for (const Result& r : results)
    if (r.method.rfind("dense", 0) == 0) c.series.push_back({r.method, {double(r.n)}, {r.images_per_s}, false, true, false});
  return plot::svg(c);
}

// Runs `warmup` then `steps` timed training steps of one method; returns images per second.
// The clock waits for the work queued on the device.
template <class Step>
double time_steps(Device device, int steps, int batch, Step step) {
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  synchronize(device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return double(steps) * batch / seconds;
}

// bench --kernels: the CPU kernels that the per-channel passes and the draws of a step spend their
// time in, each on its own, so a change to one of them can be measured without the step's noise.
// Batch norm's four passes on [M, C] float32 tensors of 2^21 values (8 MB, a width-16 stage-1
// activation) for several C, one dense MultiMix step's Dirichlet draws (16 x 128 x 1000), its
// mixing weights (Mtilde, s) and mixed labels from them, and the softmax of its head's logits
// (16 000 rows of 100 classes: the teacher's, and the loss's rows).
// Each figure is the median over `calls` calls, in ms.
void time_kernels(int calls) {
  auto median_ms = [calls](const std::function<void()>& f) {
    std::vector<double> ms;
    for (int i = 0; i < calls; ++i) {
      const auto start = std::chrono::steady_clock::now();
      f();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  };
  std::printf("C      bn_statistics  bn_backward_sums  bn_apply  bn_backward_input   (ms, fused ReLU, %d calls)\n", calls);
  for (int64_t C : {8, 16, 32, 64, 128, 512}) {
    const int64_t M = (int64_t(1) << 21) / C;
    Tensor x = Tensor::full({M, C}, 1.5), dy = Tensor::full({M, C}, 0.5), y = Tensor::empty({M, C}), dx = Tensor::empty({M, C});
    Tensor mean = Tensor::full({C}, 0.1), invstd = Tensor::full({C}, 1.1), gamma = Tensor::full({C}, 0.9);
    Tensor beta = Tensor::full({C}, 0.2), sum_dy = Tensor::empty({C}), sum_dy_xhat = Tensor::empty({C});
    const double statistics = median_ms([&] { kernels::bn_statistics(x, sum_dy, sum_dy_xhat); });
    const double apply = median_ms([&] { kernels::bn_apply(x, mean, invstd, gamma, beta, true, y); });
    const double sums = median_ms([&] { kernels::bn_backward_sums(x, dy, y, mean, invstd, sum_dy, sum_dy_xhat); });
    const double input = median_ms([&] {
      kernels::bn_backward_input(x, dy, y, mean, invstd, gamma, sum_dy, sum_dy_xhat, true, dx, false);
    });
    std::printf("%-6lld %13.3f  %16.3f  %8.3f  %17.3f\n", static_cast<long long>(C), statistics, sums, apply, input);
  }
  uint64_t seed = 7;
  const double draws = median_ms([&] { sample_dirichlet_lambda_per_position(seed++, 16, 128, 1000, 0.5, 2.0); });
  std::printf("Dirichlet draws, 16 x 128 x 1000: %.3f ms\n", draws);
  const Tensor lambda = sample_dirichlet_lambda_per_position(seed, 16, 128, 1000, 0.5, 2.0);
  const Tensor attention = scale(random_uniform({128, 16}, Seed(4)), 1.0 / 16);
  const double weights = median_ms([&] { dense_weights(attention, lambda); });
  std::vector<int64_t> y(128);
  for (int64_t i = 0; i < 128; ++i) y[i] = (i * 37) % 100;
  const Tensor labels = Tensor::from_vector<int64_t>(y, {128});
  const double mixed_labels = median_ms([&] { mix_labels(labels, 100, lambda); });
  std::printf("dense weights, 16 x 128 x 1000: %.3f ms; mixed labels of 100 classes: %.3f ms\n", weights, mixed_labels);
  const Tensor logits = scale(random_uniform({16000, 100}, Seed(3)), 30.0);  // in [0, 30)
  const double rows = median_ms([&] { softmax(logits); });
  std::printf("softmax, 16 000 x 100: %.3f ms\n", rows);
}

int run(int argc, char** argv) {
  Flags flags("bench", "Training images/s of each method, and its ratio to erm in the same run.");
  flags.add("model", "preactresnet18", "preactresnet18 or wrn16_8");
  flags.add("width", "0", "model width (0: the model's default, full width)");
  flags.add("norm", "batch", "normalisation layers: batch (the paper's models) | group (group norm, 32 groups)");
  flags.add("num-classes", "100", "classes");
  flags.add("batch-size", "128", "mini-batch size m");
  flags.add("steps", "5", "timed steps per method");
  flags.add("warmup", "1", "untimed steps per method before its first round");
  flags.add("rounds", "3", "interleaved rounds; each method reports its median");
  flags.add("ns", "10,100,1000,10000,100000", "MultiMix n values to sweep");
  flags.add("device", "cpu", "cpu or cuda");
  flags.add("json", "", "also write the results as JSON to this file, and the speed-against-n chart beside it (.svg)");
  add_precision_flag(flags, /*training=*/true);
  flags.add_switch("cuda-graph", "GPU, one process: each step a replayed CUDA graph (at least 2 warm-up steps: one "
                                 "eager, one captured)");
  add_cpu_conv_flag(flags);
  flags.add("methods", "erm,multimix,dense-multimix,dense+distill", "the steps to time (erm always, the baseline)");
  flags.add_switch("teacher-stream", "GPU: also time dense + distillation with the teacher's forward on a second "
                                     "stream, beside the student's");
  flags.add_switch("phases", "also time each step's phases (draws, student, teacher, loss, backward, update), "
                             "waiting for the device at each phase's end; not with --cuda-graph");
  flags.add_switch("erm-only", "time the erm step alone (the baseline against PyTorch: scripts/bench_vs_torch.py)");
  flags.add_switch("kernels", "time the CPU's batch-norm passes and a dense step's draws, mixing weights, mixed labels and softmax "
                              "on their own instead (median of 21 calls each)");
  if (!flags.parse(argc, argv)) return 0;
  if (flags.on("kernels")) {
    time_kernels(21);
    return 0;
  }

  const Device device = parse_device(flags.str("device"));
  const Precision precision = precision_flag(flags, device, /*training=*/true);
  const std::string model = flags.str("model");
  const int batch = flags.integer("batch-size", 2, 1 << 20), classes = flags.integer("num-classes", 1, 1 << 20);
  const int width = flags.integer("width", 0, 4096) > 0 ? flags.integer("width", 0, 4096) : default_width(model);
  const NormKind norm = parse_norm(flags.str("norm"));
  auto net = make_network(model, width, classes, 0, norm);
  auto teacher = make_network(model, width, classes, 0, norm);
  Sgd sgd(net->parameters(), SgdOptions{});
  Rng rng(0);
  Tensor images = Tensor::empty({batch, 32, 32, 3}), images2 = Tensor::empty({batch, 32, 32, 3});
  Tensor labels = Tensor::empty({batch}, DType::I64);
  for (Tensor* t : {&images, &images2})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < batch; ++i) labels.data<int64_t>()[i] = static_cast<int64_t>(rng.below(classes));
  net->to(device);
  teacher->to(device);
  images = images.to(device), images2 = images2.to(device), labels = labels.to(device);
  apply_precision(precision, device, {net.get(), teacher.get()});
  apply_cpu_conv_flag(flags);
  const bool graphs = flags.on("cuda-graph");
  MM_CHECK(!graphs || (device.is_cuda() && world().size() == 1), "--cuda-graph needs --device cuda and one process");
  const bool phases = flags.on("phases");
  MM_CHECK(!(phases && graphs), "--phases times eager steps: leave out --cuda-graph");

  // The paper's Figure 5: erm, MultiMix over n, dense MultiMix, dense + distillation (n = 1000).
  if (flags.given("json") && world().is_root())  // a bad path fails now, not after the measurements
    check_writable(flags.str("json"), "--json " + flags.str("json"));
  // erm first: every other step is reported as a multiple of it
  const std::string methods = flags.on("erm-only") ? "erm" : flags.str("methods");
  auto wanted = [&](const std::string& name) { return ("," + methods + ",").find("," + name + ",") != std::string::npos; };
  for (size_t pos = 0; pos <= methods.size();) {  // every name known
    const size_t comma = std::min(methods.find(',', pos), methods.size());
    const std::string name = methods.substr(pos, comma - pos);
    MM_CHECK(name == "erm" || name == "multimix" || name == "dense-multimix" || name == "dense+distill",
             "--methods: unknown method '{}' (erm, multimix, dense-multimix, dense+distill)", name);
    pos = comma + 1;
  }
  std::vector<std::pair<std::string, MethodConfig>> runs;
  runs.push_back({"erm", MethodConfig{}});
  if (wanted("multimix"))
    for (int n : flags.integers("ns", 1, 1 << 30)) {
      MethodConfig c;
      c.method = Method::MultiMix;
      c.mix_prob = 1;  // every step a MultiMix step: the cost of the method itself
      c.n = n;
      runs.push_back({"multimix n=" + std::to_string(n), c});
    }
  MethodConfig dense;
  dense.method = Method::DenseMultiMix;
  dense.mix_prob = 1;
  if (wanted("dense-multimix")) runs.push_back({"dense-multimix n=1000", dense});
  dense.distill = true;
  if (wanted("dense+distill")) runs.push_back({"dense+distill n=1000", dense});
  MM_CHECK(!flags.on("teacher-stream") || (device.is_cuda() && wanted("dense+distill")),
           "--teacher-stream: a GPU (--device cuda) and dense+distill among --methods");
  dense.teacher_stream = true;
  if (flags.on("teacher-stream")) runs.push_back({"dense+distill, 2 streams", dense});

  // Rounds interleave the methods and each method reports its median round, so that a machine
  // whose speed drifts (frequency, neighbours) shifts every method alike.
  const int rounds = flags.integer("rounds", 1, 1000000);
  const int warmup = std::max(flags.integer("warmup", 0, 1000000), graphs ? 2 : 0);
  const int steps = flags.integer("steps", 1, 1000000);
  const Communicator& ranks = world();
  const int images_per_step = batch * ranks.size();
  std::vector<std::vector<double>> samples(runs.size()), averaging(runs.size());
  std::vector<PhaseSeconds> phase_seconds(runs.size(), PhaseSeconds{});  // --phases, over the timed steps
  // a whole training step (draws, forward, backward, SGD, EMA teacher) as train_cifar runs it
  std::vector<std::unique_ptr<Trainer>> trainers;
  for (const auto& run : runs) {
    trainers.push_back(std::make_unique<Trainer>(*net, teacher.get(), sgd, run.second, /*seed=*/0, device));
    if (ranks.size() > 1) trainers.back()->set_ranks(ranks, /*sync_bn=*/false);
    if (graphs) trainers.back()->use_cuda_graphs();
  }
  std::vector<int64_t> step_index(runs.size(), 0);
  for (int round = 0; round < rounds; ++round)
    for (size_t k = 0; k < runs.size(); ++k) {
      Trainer& trainer = *trainers[k];
      auto step = [&] {
        trainer.step(images, runs[k].second.distill ? images2 : Tensor(), labels, classes, 0, step_index[k]++, 0.1);
      };
      for (int i = 0; i < (round == 0 ? warmup : 0); ++i) step();
      const double averaging_before = trainer.seconds_averaging();
      if (phases) trainer.time_phases(&phase_seconds[k]);
      samples[k].push_back(time_steps(device, steps, images_per_step, step));
      trainer.time_phases(nullptr);
      averaging[k].push_back(1e3 * (trainer.seconds_averaging() - averaging_before) / steps);
      if (ranks.is_root()) std::fprintf(stderr, "round %d %s: %.1f images/s\n", round + 1, runs[k].first.c_str(), samples[k].back());
    }
  if (!ranks.is_root()) return 0;  // rank 0 reports
  std::vector<Result> results;
  for (size_t k = 0; k < runs.size(); ++k) {
    std::sort(samples[k].begin(), samples[k].end());
    std::sort(averaging[k].begin(), averaging[k].end());
    const MethodConfig& c = runs[k].second;
    results.push_back({runs[k].first, samples[k][samples[k].size() / 2], c.method == Method::Erm ? 0 : c.n,
                       averaging[k][averaging[k].size() / 2]});
  }

  const double erm = results.front().images_per_s;
  std::printf("%s width %d, batch %d, %d classes, device %s in %s%s%s\n", model.c_str(), width, batch, classes,
              device.str().c_str(), precision_name(precision), graphs ? ", CUDA graphs" : "",
              ranks.size() > 1 ? fmt::format(", {} ranks ({} images per step)", ranks.size(), images_per_step).c_str() : "");
  std::printf("%-24s %12s %10s%s\n", "method", "images/s", "erm/this", ranks.size() > 1 ? "  averaging ms/step" : "");
  std::string json = "[";
  for (const Result& r : results) {
    // erm/this: the cost of a step relative to an erm step (1.05 = 5 % slower)
    std::printf("%-24s %12.1f %10.3f%s\n", r.method.c_str(), r.images_per_s, erm / r.images_per_s,
                ranks.size() > 1 ? fmt::format("  {:18.2f}", r.averaging_ms).c_str() : "");
    json += fmt::format("{}{{\"method\":\"{}\",\"images_per_s\":{:.2f},\"step_cost_vs_erm\":{:.4f},\"ranks\":{},"
                        "\"averaging_ms_per_step\":{:.3f},\"precision\":\"{}\",\"cuda_graph\":{}}}",
                        json.size() > 1 ? "," : "", r.method, r.images_per_s, erm / r.images_per_s, ranks.size(),
                        r.averaging_ms, precision_name(precision), graphs ? "true" : "false");
  }
  json += "]";
  std::printf("%s\n", json.c_str());
  if (phases) {
    // where each method's step goes, in ms per step: the mixing methods' extra cost by phase
    std::printf("ms per step by phase (mean of %d timed steps; each phase's end waits for the device)\n%-24s",
                rounds * steps, "method");
    for (int p = 0; p < kPhases; ++p) std::printf(" %9s", phase_name(static_cast<Phase>(p)));
    std::printf(" %9s\n", "total");
    for (size_t k = 0; k < runs.size(); ++k) {
      std::printf("%-24s", runs[k].first.c_str());
      double total = 0;
      for (double seconds : phase_seconds[k]) {
        const double ms = 1e3 * seconds / (rounds * steps);
        std::printf(" %9.2f", ms);
        total += ms;
      }
      std::printf(" %9.2f\n", total);
    }
  }
  if (flags.given("json")) {
    const std::string path = flags.str("json");
    write_text_atomically(path, json + "\n");
    // the chart next to the JSON: NAME.json -> NAME.svg
    const std::string svg_path = (path.size() > 5 && path.substr(path.size() - 5) == ".json" ? path.substr(0, path.size() - 5) : path) + ".svg";
    write_text_atomically(svg_path, speed_chart(results, fmt::format("{} width {}, batch {}, {}", model, width, batch, device.str())));
    std::printf("the chart is %s\n", svg_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("bench", argc, argv, mm::run, /*data_parallel=*/true); }
