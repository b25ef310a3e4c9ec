// train_cifar: trains a classifier on CIFAR-10/100, an image folder or Fashion-MNIST with the
// recipe of docs/math.md §2, evaluating on the test split after every epoch.
//
// OUT/metrics.jsonl gets one JSON object per epoch; OUT/last.safetensors is written after every
// epoch and OUT/best.safetensors whenever top-1 improves (both atomically). --resume continues a
// run so that the remaining epochs give the same numbers as an uninterrupted run with the seed:
// every random draw is a function of (seed, epoch, step), see data/loader.h.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/flags.h"
#include "engine/allocator.h"
#include "engine/json.h"
#include "engine/safetensors.h"
#include "layers/state_dict.h"
#include "mixup/ema.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace mm {
namespace {

void declare_flags(Flags& f) {
  f.add("data", "", "dataset directory (CIFAR binary folder, image-folder root, or Fashion-MNIST folder)");
  f.add("dataset", "auto", "cifar10 | cifar100 | folder | fashion-mnist | auto");
  f.add("model", "preactresnet18", "preactresnet18 | wrn16_8");
  f.add("width", "0", "preactresnet18: stage-1 channels (64); wrn16_8: widen factor (8); 0 = full width");
  f.add("norm", "batch", "normalisation layers: batch (the paper's models) | group (group norm, 32 groups)");
  f.add("dropout", "0", "dropout rate on the embedding before the classifier (0: none, as the paper's models)");
  f.add("epochs", "200", "epochs");
  f.add("batch-size", "128", "mini-batch size");
  f.add("lr", "0.1", "learning rate");
  f.add("momentum", "0.9", "SGD momentum");
  f.add("weight-decay", "1e-4", "weight decay (all parameters)");
  f.add_switch("nesterov", "Nesterov momentum");
  f.add("schedule", "multistep", "multistep | cosine");
  f.add("milestones", "", "epochs where lr x 0.1 (default: 25%, 50%, 75% of --epochs)");
  f.add("seed", "0", "random seed");
  f.add("device", "auto", "auto | cpu | cuda");
  f.add("out", "runs/train", "output directory");
  f.add("resume", "", "checkpoint to continue from (e.g. OUT/last.safetensors)");
  f.add("init", "", "initial weights (a checkpoint, or PyTorch names as train_reference.py --save-init writes)");
  f.add("save-init", "", "write the initial weights here (PyTorch names) before training");
  f.add("loss-log", "", "JSON lines {epoch, step, loss}: the mean loss of every --log-every steps");
  f.add("limit-train", "0", "use only N training images (0: all)");
  f.add("limit-test", "0", "use only N test images (0: all)");
  f.add("workers", "2", "background threads preparing batches");
  f.add("eval-batch-size", "500", "batch size for evaluation");
  f.add("log-every", "20", "steps between progress lines when the output is not a terminal");
  // the mixup family (docs/math.md §3); the defaults are MethodConfig's
  const MethodConfig d;
  f.add("method", "erm", "erm | mixup | manifold | cutmix | multimix | dense-multimix");
  f.add("n", std::to_string(d.n), "MultiMix: number of interpolated tuples");
  f.add("alpha-range", fmt::format("{},{}", d.alpha_lo, d.alpha_hi), "MultiMix: Dirichlet alpha ~ U[a, b] per tuple");
  f.add("mixup-alpha", fmt::format("{}", d.mixup_alpha), "input mixup: lam ~ Beta(a, a)");
  f.add("mix-prob", fmt::format("{}", d.mix_prob), "(dense) MultiMix on a batch with this probability, input mixup otherwise");
  f.add("mix-layer", "last", "MultiMix interpolation layer: last (the embedding) or 0..4");
  f.add("attention", "gap-relu", "dense MultiMix: gap-relu | gap-softmax | cam-relu | cam-softmax | uniform");
  f.add("dense-resolution", std::to_string(d.dense_resolution), "dense MultiMix: R x R positions of the final feature map");
  f.add_switch("distill", "online self-distillation from an EMA teacher");
  f.add("gamma", fmt::format("{}", d.gamma), "distillation: weight of the label loss");
  f.add("ema", fmt::format("{}", d.ema_decay), "distillation: teacher decay beta");
  f.add_switch("no-tf32", "GPU: exact float32 (no TF32 tensor-core math) in cuBLAS and cuDNN");
}

// The method flags as a MethodConfig; throws on bad values.
MethodConfig method_config(const Flags& f) {
  MethodConfig c;
  c.method = parse_method(f.str("method"));
  c.n = static_cast<int>(f.integer("n"));
  MM_CHECK(c.n >= 1, "--n must be positive");
  const std::string range = f.str("alpha-range");
  const size_t comma = range.find(',');
  MM_CHECK(comma != std::string::npos, "--alpha-range: expected two numbers a,b, got '{}'", range);
  char* end = nullptr;
  c.alpha_lo = std::strtod(range.c_str(), &end);
  c.alpha_hi = std::strtod(range.c_str() + comma + 1, &end);
  MM_CHECK(*end == '\0' && 0 < c.alpha_lo && c.alpha_lo <= c.alpha_hi, "--alpha-range: '{}' is not 0 < a <= b", range);
  c.mixup_alpha = f.number("mixup-alpha");
  MM_CHECK(c.mixup_alpha > 0, "--mixup-alpha must be positive");
  c.mix_prob = f.number("mix-prob");
  MM_CHECK(0 <= c.mix_prob && c.mix_prob <= 1, "--mix-prob must be in [0, 1]");
  c.mix_layer = f.str("mix-layer") == "last" ? -1 : static_cast<int>(f.integer("mix-layer"));
  MM_CHECK(c.mix_layer >= -1, "--mix-layer: last or 0..4");
  c.attention = parse_attention(f.str("attention"));
  c.dense_resolution = static_cast<int>(f.integer("dense-resolution"));
  c.distill = f.on("distill");
  c.gamma = f.number("gamma");
  MM_CHECK(0 <= c.gamma && c.gamma <= 1, "--gamma must be in [0, 1]");
  c.ema_decay = f.number("ema");
  MM_CHECK(0 <= c.ema_decay && c.ema_decay < 1, "--ema must be in [0, 1)");
  return c;
}

std::string config_json(const Flags& flags, const std::vector<std::string>& names) {
  std::string out = "{";
  for (const auto& n : names) out += (out.size() > 1 ? "," : "") + json::quote(n) + ":" + json::quote(flags.str(n));
  return out + "}";
}

int run(int argc, char** argv) {
  Flags flags("train_cifar", "Trains PreAct-ResNet-18 or WRN-16-8 with the recipe of docs/math.md §2.");
  declare_flags(flags);
  if (!flags.parse(argc, argv)) return 0;

  const std::string model = flags.str("model");
  const int epochs = static_cast<int>(flags.integer("epochs")), batch_size = static_cast<int>(flags.integer("batch-size"));
  const int width = flags.integer("width") > 0 ? static_cast<int>(flags.integer("width")) : default_width(model);
  const uint64_t seed = static_cast<uint64_t>(flags.integer("seed"));
  MM_CHECK(epochs >= 1, "--epochs must be at least 1");
  MM_CHECK(batch_size >= 2, "--batch-size must be at least 2 (batch norm needs two examples)");
  MM_CHECK(flags.number("lr") > 0, "--lr must be positive");
  MM_CHECK(0 <= flags.number("dropout") && flags.number("dropout") < 1, "--dropout must be in [0, 1)");
  const NormKind norm = parse_norm(flags.str("norm"));
  MM_CHECK(flags.str("schedule") == "multistep" || flags.str("schedule") == "cosine",
           "--schedule must be multistep or cosine");
  const std::vector<int> milestones = flags.given("milestones") ? flags.integers("milestones") : default_milestones(epochs);
  const MethodConfig method = method_config(flags);
  const Device device = parse_device(flags.str("device"));

  DataSplits data = load_dataset(flags.str("dataset"), flags.str("data"));
  data.train = data.train.subset(flags.integer("limit-train"));
  data.test = data.test.subset(flags.integer("limit-test"));
  MM_CHECK(data.train.size() >= batch_size, "the training set has {} images, fewer than one batch of {}",
           data.train.size(), batch_size);
  std::printf("data: %s: %ld train, %ld test images of %ldx%ld, %d classes\n", data.name.c_str(), data.train.size(),
              data.test.size(), data.train.images.dim(2), data.train.images.dim(1), data.train.num_classes);

  auto net = make_network(model, width, data.train.num_classes, seed, norm);
  if (flags.number("dropout") > 0) net->set_dropout(flags.number("dropout"));  // the student only: the teacher predicts
  if (flags.given("init")) load_weights(flags.str("init"), *net);
  if (flags.given("save-init")) save_safetensors(flags.str("save-init"), state_dict(*net));
  MM_CHECK(data.train.images.dim(1) == data.train.images.dim(2), "images must be square, got {}x{}",
           data.train.images.dim(2), data.train.images.dim(1));
  if (method.method == Method::DenseMultiMix) dense_positions(*net, method, data.train.images.dim(1), data.train.images.dim(2));
  std::unique_ptr<Network> teacher;
  if (method.distill) {
    teacher = make_network(model, width, data.train.num_classes, seed, norm);
    copy_weights(*teacher, *net);  // the EMA starts at the student
    teacher->update_running_stats(false);
  }
  Sgd sgd(net->parameters(), SgdOptions{flags.number("lr"), flags.number("momentum"), flags.number("weight-decay"),
                                        flags.on("nesterov")});
  const std::string out = flags.str("out");
  std::filesystem::create_directories(out);
  CheckpointInfo info{model, width, data.train.num_classes, 0, norm_name(norm), 0.0, seed,
                      config_json(flags, {"data", "dataset", "model", "width", "norm", "dropout", "epochs", "batch-size", "lr", "momentum",
                                          "weight-decay", "schedule", "milestones", "seed", "limit-train", "limit-test",
                                          "method", "n", "alpha-range", "mixup-alpha", "mix-prob", "mix-layer",
                                          "attention", "dense-resolution", "gamma", "ema"})};
  if (flags.given("resume")) {
    info = load_checkpoint(flags.str("resume"), *net, sgd, teacher.get(), model, width, data.train.num_classes,
                           norm_name(norm));
    std::printf("resumed from %s after epoch %d (best top-1 %.2f%%)\n", flags.str("resume").c_str(), info.epoch,
                info.best_top1);
  }
  net->to(device);
  if (teacher) teacher->to(device);
  allow_tf32(device, !flags.on("no-tf32"));
  std::printf("model: %s width %d, %zu parameter tensors; device %s; %d epochs, batch %d; method %s%s\n", model.c_str(),
              width, net->parameters().size(), device.str().c_str(), epochs, batch_size, method_name(method.method).c_str(),
              method.distill ? " with distillation" : "");

  Trainer trainer(*net, teacher.get(), sgd, method, seed, device);
  RunSettings run;
  run.epochs = epochs;
  run.lr = [&](int epoch) {
    return flags.str("schedule") == "cosine" ? cosine_lr(flags.number("lr"), epochs, epoch)
                                             : multistep_lr(flags.number("lr"), milestones, 0.1, epoch);
  };
  run.loader.batch_size = batch_size;
  run.loader.seed = seed;
  run.loader.workers = static_cast<int>(flags.integer("workers"));
  run.loader.two_views = method.distill;
  run.loader.pinned = pinned_batches_for(device);
  run.eval_batch_size = static_cast<int>(flags.integer("eval-batch-size"));
  run.out = out;
  run.report.epochs = epochs;
  run.report.tty = isatty(fileno(stdout));
  run.report.log_every = std::max<int>(1, static_cast<int>(flags.integer("log-every")));
  std::ofstream loss_log;
  if (flags.given("loss-log")) {
    loss_log.open(flags.str("loss-log"), info.epoch > 0 ? std::ios::app : std::ios::trunc);
    MM_CHECK(loss_log.good(), "--loss-log: cannot write {}", flags.str("loss-log"));
    run.report.loss_log = &loss_log;
  }
  train_run(trainer, *net, teacher.get(), sgd, data, run, info);
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("train_cifar", argc, argv, mm::run); }
