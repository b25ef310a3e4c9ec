// bench: training throughput (images/s) of one full training step (forward, backward, SGD update)
// on random data, for each method, with each method's ratio to erm measured in the same run.
#include <chrono>
#include <cstdio>

#include "apps/flags.h"
#include "engine/autograd.h"
#include "engine/optim.h"
#include "models/network.h"

namespace mm {
namespace {

struct Result {
  std::string method;
  double images_per_s;
};

// Runs `warmup` then `steps` timed training steps of one method; returns images per second.
template <class Step>
double time_steps(int warmup, int steps, int batch, Step step) {
  for (int i = 0; i < warmup; ++i) step();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return double(steps) * batch / seconds;
}

int run(int argc, char** argv) {
  Flags flags("bench", "Training images/s of each method, and its ratio to erm in the same run.");
  flags.add("model", "preactresnet18", "preactresnet18 or wrn16_8");
  flags.add("width", "0", "model width (0: the model's default, full width)");
  flags.add("num-classes", "100", "classes");
  flags.add("batch-size", "128", "mini-batch size m");
  flags.add("steps", "5", "timed steps per method");
  flags.add("warmup", "1", "untimed steps per method");
  flags.add("methods", "erm", "comma-separated methods to time (this build: erm)");
  flags.add("device", "cpu", "cpu or cuda");
  flags.add("json", "", "also write the results as JSON to this file");
  if (!flags.parse(argc, argv)) return 0;

  const Device device = parse_device(flags.str("device"));
  MM_CHECK(device.is_cpu(), "--device {}: the ops of this build run on the CPU only", device.str());
  const std::string model = flags.str("model");
  const int batch = static_cast<int>(flags.integer("batch-size")), classes = static_cast<int>(flags.integer("num-classes"));
  MM_CHECK(batch >= 2, "--batch-size must be at least 2");
  auto net = make_network(model, static_cast<int>(flags.integer("width")), classes, 0);
  Sgd sgd(net->parameters(), SgdOptions{});
  Rng rng(0);
  Tensor images = Tensor::empty({batch, 32, 32, 3}), labels = Tensor::empty({batch}, DType::I64);
  for (int64_t i = 0; i < images.numel(); ++i) images.data<float>()[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < batch; ++i) labels.data<int64_t>()[i] = static_cast<int64_t>(rng.below(classes));

  std::vector<Result> results;
  for (const std::string& method : {std::string("erm")}) {
    auto step = [&] {
      backward(cross_entropy(net->forward(images), labels));
      sgd.step(0.1);
      sgd.zero_grad();
    };
    results.push_back({method, time_steps(static_cast<int>(flags.integer("warmup")),
                                          static_cast<int>(flags.integer("steps")), batch, step)});
  }

  const double erm = results.front().images_per_s;
  std::printf("%s width %ld, batch %d, %d classes, device %s\n", model.c_str(), flags.integer("width"), batch, classes,
              device.str().c_str());
  std::printf("%-24s %12s %10s\n", "method", "images/s", "vs erm");
  std::string json = "[";
  for (const Result& r : results) {
    std::printf("%-24s %12.1f %10.3f\n", r.method.c_str(), r.images_per_s, r.images_per_s / erm);
    json += fmt::format("{}{{\"method\":\"{}\",\"images_per_s\":{:.2f},\"ratio_to_erm\":{:.4f}}}", json.size() > 1 ? "," : "",
                        r.method, r.images_per_s, r.images_per_s / erm);
  }
  json += "]";
  std::printf("%s\n", json.c_str());
  if (flags.given("json")) {
    FILE* f = std::fopen(flags.str("json").c_str(), "w");
    MM_CHECK(f, "cannot write {}", flags.str("json"));
    std::fprintf(f, "%s\n", json.c_str());
    std::fclose(f);
  }
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) {
  try {
    return mm::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: error: %s\n", e.what());
    return 1;
  }
}
