// train_cifar: trains a classifier on CIFAR-10/100, an image folder or Fashion-MNIST with the
// recipe of docs/math.md §2, evaluating on the test split after every epoch.
//
// OUT/metrics.jsonl gets one JSON object per epoch; OUT/last.safetensors is written after every
// epoch (and every --checkpoint-every steps) and OUT/best.safetensors whenever top-1 improves, all
// atomically. Ctrl-C or SIGTERM stops at the next step with a checkpoint of that point (exit 130).
// --resume OUT continues a run, even mid-epoch, so that it gives the same numbers as an
// uninterrupted run: every random draw is a function of (seed, epoch, step), see data/loader.h.
// The resumed run takes its saved settings; a flag given that would change the run is refused.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/ranges.h>

#include "apps/flags.h"
#include "engine/allocator.h"
#include "engine/atomic_file.h"
#include "engine/json.h"
#include "engine/safetensors.h"
#include "layers/state_dict.h"
#include "mixup/ema.h"
#include "train/checkpoint.h"
#include "train/interrupt.h"
#include "train/log.h"
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
  f.add("out", "runs/train", "output directory (with --resume: the checkpoint's folder)");
  f.add("resume", "", "a run folder OUT (or a checkpoint file) to continue from, with its saved settings");
  f.add_switch("overwrite", "start afresh in an --out that already holds a run (its checkpoints are replaced)");
  f.add("checkpoint-every", "0", "also write OUT/last.safetensors every N steps (0: after each epoch only)");
  f.add("init", "", "initial weights (a checkpoint, or PyTorch names as train_reference.py --save-init writes)");
  f.add("save-init", "", "write the initial weights here (PyTorch names) before training");
  f.add("loss-log", "", "JSON lines {epoch, step, loss}: the mean loss of every --log-every steps");
  f.add("limit-train", "0", "use only N training images (0: all)");
  f.add("limit-test", "0", "use only N test images (0: all)");
  f.add("workers", "2", "background threads preparing batches (0..64)");
  f.add("augment-on", "workers", "workers: the loader's threads crop, flip and normalise on the host; device: the "
        "training set is kept (uint8) where the step runs and each batch is augmented there (same numbers)");
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
  f.add_switch("teacher-stream", "distillation on a GPU: the teacher's forward on a second CUDA stream, beside the "
                                 "student's (the same numbers; not yet measured on a GPU, so off by default)");
  add_precision_flag(f, /*training=*/true);
  f.add_switch("cuda-graph", "GPU, one process: capture each kind of training step once as a CUDA graph and replay it "
                             "(the same numbers as without; falls back to eager steps, saying why, where capture fails)");
  add_cpu_conv_flag(f);
  f.add_switch("sync-bn", "data-parallel runs (mpirun): batch norm statistics over all ranks' batches");
  f.add("dtype", "float32", "float32 | float64 (CPU only: runs that must agree to the last digits, e.g. K ranks "
        "against one process)");
}

// The method flags as a MethodConfig; throws on bad values.
MethodConfig method_config(const Flags& f) {
  MethodConfig c;
  c.method = parse_method(f.str("method"));
  c.n = f.integer("n", 1, 1 << 30);
  const std::string range = f.str("alpha-range");
  const size_t comma = range.find(',');
  MM_CHECK(comma != std::string::npos, "--alpha-range: expected two numbers a,b, got '{}'", range);
  char* end = nullptr;
  c.alpha_lo = std::strtod(range.c_str(), &end);
  MM_CHECK(end == range.c_str() + comma, "--alpha-range: '{}' is not two numbers a,b", range);
  c.alpha_hi = std::strtod(range.c_str() + comma + 1, &end);
  MM_CHECK(*end == '\0' && 0 < c.alpha_lo && c.alpha_lo <= c.alpha_hi && std::isfinite(c.alpha_hi),
           "--alpha-range: '{}' is not 0 < a <= b", range);
  c.mixup_alpha = f.number("mixup-alpha");
  MM_CHECK(c.mixup_alpha > 0, "--mixup-alpha must be positive");
  c.mix_prob = f.number("mix-prob");
  MM_CHECK(0 <= c.mix_prob && c.mix_prob <= 1, "--mix-prob must be in [0, 1]");
  c.mix_layer = f.str("mix-layer") == "last" ? -1 : f.integer("mix-layer", 0, 5);
  c.attention = parse_attention(f.str("attention"));
  c.dense_resolution = f.integer("dense-resolution", 1, 1024);
  c.distill = f.on("distill");
  c.gamma = f.number("gamma");
  MM_CHECK(0 <= c.gamma && c.gamma <= 1, "--gamma must be in [0, 1]");
  c.ema_decay = f.number("ema");
  MM_CHECK(0 <= c.ema_decay && c.ema_decay < 1, "--ema must be in [0, 1)");
  c.teacher_stream = f.on("teacher-stream");
  MM_CHECK(!c.teacher_stream || c.distill, "--teacher-stream: only with --distill (it runs the teacher's forward)");
  return c;
}

// The settings that make a run what it is. They are saved in its checkpoints (as the run used
// them: the model's width, the milestones of the schedule); a resumed run takes them, and a flag
// given on resume that would change one of them is refused. Besides these, --epochs may grow
// under a multistep schedule and --data may point elsewhere if it holds the same dataset; the
// rest (workers, eval batch size, log interval, device, ...) may change freely.
const std::vector<std::string> kRunSettings = {
    "dataset", "model", "width", "norm", "dropout", "batch-size", "lr", "momentum", "weight-decay", "nesterov",
    "schedule", "milestones", "seed", "limit-train", "limit-test", "method", "n", "alpha-range", "mixup-alpha",
    "mix-prob", "mix-layer", "attention", "dense-resolution", "distill", "gamma", "ema", "sync-bn", "dtype"};

// One spelling per value, so that "0.1", "1e-1" and "0.10" compare equal: every comma-separated
// number becomes the shortest text that reads back as the same double.
std::string canonical(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    out += (pos ? "," : "") + (!item.empty() && *end == '\0' ? fmt::format("{}", v) : item);
    pos = comma + 1;
  }
  return out;
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

// A setting as the run uses it.
std::string effective(const Flags& f, const std::string& name) {
  if (f.is_switch(name)) return f.on(name) ? "1" : "0";
  if (name == "width" && f.integer("width", 0, 4096) == 0) return std::to_string(default_width(f.str("model")));
  if (name == "milestones" && f.str("milestones").empty())
    return join(default_milestones(f.integer("epochs", 1, 1000000)));
  if (name == "data" && !f.str("data").empty()) return std::filesystem::absolute(f.str("data")).lexically_normal().string();
  return f.str(name);
}

std::string config_json(const Flags& f) {
  std::string out = "{";
  for (const auto& name : kRunSettings) out += json::quote(name) + ":" + json::quote(effective(f, name)) + ",";
  return out + "\"epochs\":" + json::quote(f.str("epochs")) + ",\"data\":" + json::quote(effective(f, "data")) +
         ",\"ranks\":" + json::quote(std::to_string(world().size())) + "}";
}

// OUT/config.json: every flag as this run has it, one per line (what was given and the defaults).
std::string every_flag_json(const Flags& f) {
  std::string out = "{\n";
  for (const auto& name : f.names()) out += fmt::format("  {}: {},\n", json::quote(name), json::quote(effective(f, name)));
  out.resize(out.size() - 2);
  return out + "\n}\n";
}

// --resume: the saved settings become the defaults of the flags not given; a given flag that
// changes the run is refused, each difference named.
void take_saved_settings(Flags& f, const CheckpointInfo& saved, const std::string& path) {
  const json::Value config = json::parse(saved.config_json);
  auto saved_value = [&](const std::string& name) { return config.has(name) ? config.at(name).string : std::string(); };
  std::vector<std::string> differences;
  for (const auto& name : kRunSettings) {
    if (!config.has(name)) continue;  // a checkpoint of an older version, which did not save it
    if (!f.given(name)) {
      f.set_default(name, saved_value(name) == "0" && f.is_switch(name) ? "" : saved_value(name));
    } else if (canonical(effective(f, name)) != canonical(saved_value(name))) {
      differences.push_back(fmt::format("--{} {} (the run has {})", name, effective(f, name), saved_value(name)));
    }
  }
  if (config.has("epochs")) {
    if (!f.given("epochs")) f.set_default("epochs", saved_value("epochs"));
    else if (f.str("schedule") == "cosine" && canonical(f.str("epochs")) != canonical(saved_value("epochs")))
      differences.push_back(fmt::format("--epochs {} (the run has {}, and its cosine schedule depends on it)",
                                        f.str("epochs"), saved_value("epochs")));
  }
  if (config.has("data") && !f.given("data")) f.set_default("data", saved_value("data"));
  // each rank's batches and draws depend on the number of ranks (data/loader.h)
  const std::string ranks = config.has("ranks") ? saved_value("ranks") : "1";
  MM_CHECK(ranks == std::to_string(world().size()),
           "--resume {}: the run was trained on {} rank(s) and this is {}: resume it with mpirun -np {} (every rank's "
           "batches and draws depend on the number of ranks)",
           path, ranks, world().size(), ranks);
  MM_CHECK(differences.empty(), "--resume {}: {} would change the run (leave {} out to continue it as it was, or "
           "start a new run in another --out)", path, fmt::join(differences, ", "), differences.size() > 1 ? "them" : "it");
  MM_CHECK(f.integer("epochs", 1, 1000000) >= saved.epoch, "--resume {}: the run has done {} epochs, more than --epochs {}",
           path, saved.epoch, f.str("epochs"));
}

// The path of the checkpoint --resume names: a run folder means its last.safetensors.
std::string checkpoint_path(const std::string& resume) {
  return std::filesystem::is_directory(resume) ? (std::filesystem::path(resume) / "last.safetensors").string() : resume;
}

// Creates the run folder and makes sure it can be written, before any data is read; refuses to
// write over another run's checkpoints unless asked (continuing the run in its own folder is not
// "another run"); removes what a write cut short left behind.
void prepare_out(const std::string& out, bool continuing_here, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out, ec);
  MM_CHECK(!ec && fs::is_directory(out), "--out {}: cannot create the folder ({})", out, ec ? ec.message() : "not a folder");
  check_writable(out + "/last.safetensors", "--out " + out);
  MM_CHECK(continuing_here || overwrite || !fs::exists(out + "/last.safetensors"),
           "--out {} already holds a run: continue it with --resume {}, or replace it with --overwrite", out, out);
  for (const char* name : {"last.safetensors.tmp", "best.safetensors.tmp", "metrics.jsonl.tmp", "report.html.tmp",
                           "config.json.tmp"})
    fs::remove(fs::path(out) / name, ec);  // a write cut short by a kill; the file it was to replace is intact
  if (!continuing_here)
    for (const char* name : {"best.safetensors", "last.safetensors", "train.log"}) fs::remove(fs::path(out) / name, ec);
}

// Keeps the lines of a loss log up to a checkpoint's point (a killed run may have logged past it).
void trim_loss_log(const std::string& path, const CheckpointInfo& info) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    const json::Value row = json::parse(line);
    const int epoch = static_cast<int>(row.at("epoch").number);
    if (epoch <= info.epoch || (epoch == info.epoch + 1 && row.at("step").number <= static_cast<double>(info.progress.step)))
      kept += line + "\n";
  }
  write_text_atomically(path, kept);
}

// A summary of a dataset that a resumed run must match, wherever its folder now is.
std::string data_identity(const DataSplits& d) {
  return fmt::format("{} train and {} test images of {}x{}, {} classes", d.train.size(), d.test.size(),
                     d.train.images.dim(2), d.train.images.dim(1), d.train.num_classes);
}

int run(int argc, char** argv) {
  Flags flags("train_cifar", "Trains PreAct-ResNet-18 or WRN-16-8 with the recipe of docs/math.md §2.");
  declare_flags(flags);
  if (!flags.parse(argc, argv)) return 0;

  // Every flag and path is checked before any data is read.
  const bool resuming = !flags.str("resume").empty();
  const std::string resume_path = resuming ? checkpoint_path(flags.str("resume")) : "";
  CheckpointInfo saved;
  if (resuming) {
    saved = read_checkpoint_info(resume_path);
    take_saved_settings(flags, saved, resume_path);
  }
  const std::string model = flags.str("model");
  const int epochs = flags.integer("epochs", 1, 1000000), batch_size = flags.integer("batch-size", 2, 1 << 20);
  const int width = std::stoi(effective(flags, "width"));
  const uint64_t seed = static_cast<uint64_t>(flags.integer64("seed", 0, INT64_MAX));
  const double lr = flags.number("lr"), momentum = flags.number("momentum"), weight_decay = flags.number("weight-decay");
  MM_CHECK(lr > 0, "--lr must be positive");
  MM_CHECK(0 <= momentum && momentum < 1, "--momentum must be in [0, 1)");
  MM_CHECK(weight_decay >= 0, "--weight-decay must not be negative");
  const double dropout = flags.number("dropout");
  MM_CHECK(0 <= dropout && dropout < 1, "--dropout must be in [0, 1)");
  const NormKind norm = parse_norm(flags.str("norm"));
  const std::string schedule = flags.str("schedule");
  MM_CHECK(schedule == "multistep" || schedule == "cosine", "--schedule must be multistep or cosine");
  const std::vector<int> milestones = flags.str("milestones").empty() ? default_milestones(epochs)
                                                                      : flags.integers("milestones", 1, epochs);
  MM_CHECK(std::is_sorted(milestones.begin(), milestones.end()), "--milestones must be in increasing order");
  const MethodConfig method = method_config(flags);
  const Device device = parse_device(flags.str("device"));
  apply_cpu_conv_flag(flags);
  const std::string dtype_flag = flags.str("dtype");
  MM_CHECK(dtype_flag == "float32" || dtype_flag == "float64", "--dtype must be float32 or float64, got '{}'", dtype_flag);
  const DType dtype = dtype_flag == "float64" ? DType::F64 : DType::F32;
  MM_CHECK(dtype == DType::F32 || device.is_cpu(), "--dtype float64 runs on the CPU only (add --device cpu)");
  const Precision precision = precision_flag(flags, device, /*training=*/true);
  MM_CHECK(!flags.on("cuda-graph") || (device.is_cuda() && world().size() == 1),
           "--cuda-graph needs --device cuda and one process");
  MM_CHECK(!method.teacher_stream || device.is_cuda(), "--teacher-stream needs --device cuda (a second CUDA stream)");
  const int64_t limit_train = flags.integer64("limit-train", 0, INT64_MAX), limit_test = flags.integer64("limit-test", 0, INT64_MAX);
  const std::string augment_on = flags.str("augment-on");
  MM_CHECK(augment_on == "workers" || augment_on == "device", "--augment-on: workers or device, got '{}'", augment_on);
  const int workers = flags.integer("workers", 0, 64), eval_batch_size = flags.integer("eval-batch-size", 1, 1 << 20);
  const int log_every = flags.integer("log-every", 1, 1 << 30);
  const int64_t checkpoint_every = flags.integer64("checkpoint-every", 0, INT64_MAX);
  MM_CHECK(!flags.given("init") || std::filesystem::is_regular_file(flags.str("init")), "--init: no file '{}'",
           flags.str("init"));
  const std::string out = flags.given("out") || !resuming ? flags.str("out")
                                                          : std::filesystem::path(resume_path).parent_path().string();
  namespace fs = std::filesystem;
  const bool continuing_here = resuming && fs::weakly_canonical(fs::absolute(fs::path(resume_path).parent_path())) ==
                                               fs::weakly_canonical(fs::absolute(out.empty() ? "." : out));
  const Communicator& ranks = world();
  if (ranks.is_root()) {  // only rank 0 writes files
    prepare_out(out.empty() ? "." : out, continuing_here, flags.on("overwrite"));
    log_to_file(out + "/train.log");
    if (!continuing_here) write_text_atomically(out + "/config.json", every_flag_json(flags));
  }
  std::ofstream loss_log;
  if (flags.given("loss-log") && ranks.is_root()) {
    const std::string path = flags.str("loss-log");
    if (resuming && std::filesystem::exists(path)) trim_loss_log(path, saved);
    loss_log.open(path, resuming ? std::ios::app : std::ios::trunc);
    MM_CHECK(loss_log.good(), "--loss-log: cannot write {}", path);
  }

  DataSplits data = load_dataset(flags.str("dataset"), flags.str("data"));
  data.train = data.train.subset(limit_train);
  data.test = data.test.subset(limit_test);
  MM_CHECK(data.train.size() >= int64_t(batch_size) * ranks.size(),
           "the training set has {} images, fewer than one batch of {}{}", data.train.size(), int64_t(batch_size) * ranks.size(),
           ranks.size() > 1 ? fmt::format(" ({} ranks x --batch-size {})", ranks.size(), batch_size) : "");
  say("data: {}: {} train, {} test images of {}x{}, {} classes\n", data.name, data.train.size(), data.test.size(),
      data.train.images.dim(2), data.train.images.dim(1), data.train.num_classes);
  const json::Value saved_config = resuming ? json::parse(saved.config_json) : json::Value{};
  if (saved_config.has("data_identity"))
    MM_CHECK(saved_config.at("data_identity").string == data_identity(data),
             "--resume {}: the run was trained on {}, but --data {} holds {}", resume_path,
             saved_config.at("data_identity").string, flags.str("data"), data_identity(data));

  auto net = make_network(model, width, data.train.num_classes, seed, norm);
  if (dropout > 0) net->set_dropout(dropout);  // the student only: the teacher predicts
  MM_CHECK(method.mix_layer <= net->num_stages() + 1, "--mix-layer {}: {} has layers 0..{}", method.mix_layer, model,
           net->num_stages() + 1);
  if (flags.given("init")) load_weights(flags.str("init"), *net);
  if (flags.given("save-init") && ranks.is_root()) save_safetensors(flags.str("save-init"), state_dict(*net));
  net->to(dtype);  // after --init and --save-init, which are float32 files
  MM_CHECK(data.train.images.dim(1) == data.train.images.dim(2), "images must be square, got {}x{}",
           data.train.images.dim(2), data.train.images.dim(1));
  if (method.method == Method::DenseMultiMix) dense_positions(*net, method, data.train.images.dim(1), data.train.images.dim(2));
  std::unique_ptr<Network> teacher;
  if (method.distill) {
    teacher = make_network(model, width, data.train.num_classes, seed, norm);
    teacher->to(dtype);
    copy_weights(*teacher, *net);  // the EMA starts at the student
    teacher->update_running_stats(false);
  }
  Sgd sgd(net->parameters(), SgdOptions{lr, momentum, weight_decay, flags.on("nesterov")});
  std::string config = config_json(flags);
  config.back() = ',';
  config += "\"data_identity\":" + json::quote(data_identity(data)) + "}";
  CheckpointInfo info{model, width, data.train.num_classes, 0, norm_name(norm), 0.0, seed, config};
  if (resuming) {
    info = load_checkpoint(resume_path, *net, sgd, teacher.get(), model, width, data.train.num_classes, norm_name(norm));
    info.config_json = config;  // the epochs may have grown; the rest is as saved
    say("resumed from {} after epoch {}{} (best top-1 {:.2f}%)\n", resume_path, info.epoch,
        info.progress.step ? fmt::format(" and step {} of epoch {}", info.progress.step, info.epoch + 1) : "",
        info.best_top1);
  }
  net->to(device);
  if (teacher) teacher->to(device);
  apply_precision(precision, device, {net.get(), teacher.get()});
  say("model: {} width {}, {} parameter tensors; device {} in {}; {} epochs, batch {}; method {}{}\n", model, width,
      net->parameters().size(), device.str(), precision_name(precision), epochs, batch_size, method_name(method.method),
      method.distill ? " with distillation" : "");

  Trainer trainer(*net, teacher.get(), sgd, method, seed, device);
  if (flags.on("cuda-graph")) trainer.use_cuda_graphs();
  if (ranks.size() > 1) {
    trainer.set_ranks(ranks, flags.on("sync-bn"));
    if (flags.on("sync-bn")) set_batch_norm_sync(&ranks);
    say("data-parallel: {} ranks x batch {} = {} images per step; batch norm statistics {}\n", ranks.size(), batch_size,
        int64_t(batch_size) * ranks.size(), flags.on("sync-bn") ? "over all ranks (--sync-bn)" : "per rank");
  }
  RunSettings run;
  run.epochs = epochs;
  run.lr = [&](int epoch) {
    return schedule == "cosine" ? cosine_lr(lr, epochs, epoch) : multistep_lr(lr, milestones, 0.1, epoch);
  };
  run.loader.batch_size = batch_size;
  run.loader.seed = seed;
  run.loader.workers = workers;
  run.loader.two_views = method.distill;
  run.loader.pinned = pinned_batches_for(device);
  if (augment_on == "device") run.loader.device_images = data.train.images.to(device);  // once per run
  run.loader.rank = ranks.rank();
  run.loader.ranks = ranks.size();
  run.eval_batch_size = eval_batch_size;
  run.out = out;
  run.checkpoint_every = checkpoint_every;
  run.report.epochs = epochs;
  run.report.tty = isatty(fileno(stdout));
  run.report.log_every = log_every;
  run.description = {out, config, device.str(), data.name, epochs};
  if (loss_log.is_open()) run.report.loss_log = &loss_log;
  stop_on_signals();
  if (!train_run(trainer, *net, teacher.get(), sgd, data, run, info)) {
    say("stopped by a signal {}; the checkpoint is {}/last.safetensors: continue with  train_cifar --resume {}\n",
        info.progress.step ? fmt::format("at epoch {} step {}", info.epoch + 1, info.progress.step)
                           : fmt::format("after epoch {}", info.epoch),
        out, out);
    return kInterruptedExitStatus;
  }
  say("outputs are in {}: report.html, metrics.jsonl, last.safetensors, best.safetensors, config.json, train.log\n", out);
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("train_cifar", argc, argv, mm::run, /*data_parallel=*/true); }
