// train_cifar end to end, as a user runs it: resume equivalence, clean failures on bad input,
// and (label slow) real training on ../shared/data/cifar10-jpeg when it is present.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/json.h"
#include "engine/safetensors.h"

namespace mm {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int status;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs an app as a user would; its exit status and what it printed.
Outcome run_app(const std::string& app, const std::string& args) {
  const std::string log = ::testing::TempDir() + "mm_train_log";
  const int status = std::system((app + " " + args + " > " + log + ".out 2> " + log + ".err").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(log + ".out"), read_file(log + ".err")};
}
Outcome train(const std::string& args) { return run_app(MM_TRAIN_CIFAR, args); }
Outcome evaluate(const std::string& args) { return run_app(MM_EVALUATE, args); }

std::vector<json::Value> metrics(const std::string& dir) {
  std::vector<json::Value> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("mm_train_" + name);
  fs::remove_all(p);
  return p.string();
}

// A tiny CIFAR-10 folder: 6 files of `per_file` random records each (seeded).
std::string tiny_cifar(int per_file) {
  const std::string dir = fresh_dir("data");
  fs::create_directories(dir);
  uint32_t state = 12345;
  for (int f = 1; f <= 6; ++f) {
    std::ofstream out(dir + (f <= 5 ? "/data_batch_" + std::to_string(f) + ".bin" : "/test_batch.bin"), std::ios::binary);
    for (int r = 0; r < per_file; ++r) {
      const uint8_t label = static_cast<uint8_t>(r % 10);
      out.put(static_cast<char>(label));
      for (int p = 0; p < 3072; ++p) {
        state = state * 1664525u + 1013904223u;
        out.put(static_cast<char>((state >> 24) / 2 + label * 12));  // a learnable colour cue
      }
    }
  }
  return dir;
}

const std::string kTiny = " --dataset cifar10 --width 2 --batch-size 16 --milestones 1 --workers 2 --device cpu";

TEST(TrainCifar, ResumedRunEqualsUninterruptedRun) {
  const std::string data = tiny_cifar(20);
  const std::string full = fresh_dir("full"), part = fresh_dir("part");
  Outcome a = train("--data " + data + kTiny + " --epochs 2 --out " + full);
  ASSERT_EQ(a.status, 0) << a.err;
  Outcome b = train("--data " + data + kTiny + " --epochs 1 --out " + part);
  ASSERT_EQ(b.status, 0) << b.err;
  // resumed with the batches augmented by the step's thread (--augment-on device) instead of the
  // loader's workers: the same numbers
  Outcome c = train("--data " + data + kTiny + " --epochs 2 --out " + part + " --resume " + part +
                    "/last.safetensors --augment-on device");
  ASSERT_EQ(c.status, 0) << c.err;
  auto m_full = metrics(full), m_part = metrics(part);
  ASSERT_EQ(m_full.size(), 2u);
  ASSERT_EQ(m_part.size(), 2u);
  for (const char* key : {"train_loss", "test_loss", "top1", "top5", "lr"})
    EXPECT_EQ(m_full[1].at(key).number, m_part[1].at(key).number) << key;
  for (const char* key : {"epoch", "lr", "train_loss", "test_loss", "top1", "top5", "best_top1", "img_per_s", "seconds"})
    EXPECT_TRUE(m_full[0].has(key)) << key;
  EXPECT_TRUE(fs::exists(full + "/best.safetensors"));
  const TensorFile last = load_safetensors(full + "/last.safetensors");
  EXPECT_EQ(last.metadata.at("epoch"), "2");
  EXPECT_TRUE(last.has("encoder.layer1.0.conv1.weight"));
  EXPECT_TRUE(last.has("optimizer.momentum.classifier.weight"));
}

// Expects a non-zero exit with one line on stderr that contains `needle`.
void expect_clean_failure(const Outcome& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A run folder holds what users of timm's train.py expect: config.json (every setting, written at
// the start), train.log (what was printed, errors included) and report.html (the curves so far).
TEST(TrainCifar, RunFolderHoldsConfigLogAndReport) {
  const std::string data = tiny_cifar(20), out = fresh_dir("folder");
  const Outcome r = train("--data " + data + kTiny + " --epochs 2 --method multimix --distill --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  const json::Value config = json::parse(read_file(out + "/config.json"));
  EXPECT_EQ(config.at("method").string, "multimix");
  EXPECT_EQ(config.at("distill").string, "1");
  EXPECT_EQ(config.at("workers").string, "2");
  const std::string log = read_file(out + "/train.log");
  EXPECT_NE(log.find("epoch 2/2: train loss"), std::string::npos) << log;
  EXPECT_NE(log.find("outputs are in"), std::string::npos) << log;
  const auto rows = metrics(out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[1].has("teacher_top1"));  // a distillation run scores its teacher too
  const std::string report = read_file(out + "/report.html");
  EXPECT_NE(report.find("data-name=\"teacher top-1\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(report.find("data-name=\"top-1\" data-points=\"2\""), std::string::npos);
  // an error after the folder is open lands in the log as well
  expect_clean_failure(train("--resume " + out + " --epochs 3 --lr 1e30 --method erm"), "--method erm");
  const Outcome failed = train("--data /nonexistent" + kTiny + " --overwrite --out " + out);
  expect_clean_failure(failed, "/nonexistent");
  EXPECT_NE(read_file(out + "/train.log").find("/nonexistent"), std::string::npos);
}

std::vector<json::Value> json_lines(const std::string& path) {
  std::vector<json::Value> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// The bisection tools of the parity work: --save-init writes the initial weights under PyTorch's
// names, --init starts from them (or from a checkpoint), and --loss-log writes the mean loss of
// every --log-every steps. A run started from its own seed's initial weights is the same run.
TEST(TrainCifar, InitWeightsAndLossLog) {
  const std::string data = tiny_cifar(20), a = fresh_dir("init_a"), b = fresh_dir("init_b"), c = fresh_dir("init_c");
  fs::create_directories(a);
  const std::string weights = a + "/init.safetensors";
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --seed 3 --out " + a + " --save-init " + weights +
                  " --loss-log " + a + "/loss.jsonl --log-every 2").status, 0);
  const TensorFile init = load_safetensors(weights);
  EXPECT_TRUE(init.has("encoder.conv1.weight"));
  EXPECT_FALSE(init.has("optimizer.momentum.classifier.weight"));
  Outcome same = train("--data " + data + kTiny + " --epochs 1 --seed 3 --out " + b + " --init " + weights +
                       " --loss-log " + b + "/loss.jsonl --log-every 2");
  ASSERT_EQ(same.status, 0) << same.err;
  const auto log_a = json_lines(a + "/loss.jsonl"), log_b = json_lines(b + "/loss.jsonl");
  ASSERT_EQ(log_a.size(), 3u);  // 100 images, batch 16: 6 steps, a line every 2
  ASSERT_EQ(log_a.size(), log_b.size());
  double mean_of_windows = 0;
  for (size_t i = 0; i < log_a.size(); ++i) {
    EXPECT_EQ(log_a[i].at("step").number, 2.0 * (i + 1));
    EXPECT_EQ(log_a[i].at("loss").number, log_b[i].at("loss").number) << i;
    mean_of_windows += log_a[i].at("loss").number / log_a.size();
  }
  // equal windows: their mean is the epoch's train loss (to the log's 6 decimals)
  EXPECT_NEAR(mean_of_windows, metrics(a)[0].at("train_loss").number, 1e-5);
  // a checkpoint serves as --init too (its trained weights give another run); another width is refused
  Outcome other = train("--data " + data + kTiny + " --epochs 1 --seed 3 --out " + c + " --init " + a +
                        "/last.safetensors --loss-log " + c + "/loss.jsonl --log-every 2");
  ASSERT_EQ(other.status, 0) << other.err;
  EXPECT_NE(json_lines(c + "/loss.jsonl")[0].at("loss").number, log_a[0].at("loss").number);
  expect_clean_failure(train("--data " + data + kTiny + " --width 4 --epochs 1 --out " + fresh_dir("init_d") + " --init " + weights),
                       "conv1");
}

// The model options end to end: group norm and dropout train, resume exactly (the dropout masks
// are a function of seed, epoch and step), refuse a checkpoint of the other normalisation, and
// evaluate reads the run's normalisation from the checkpoint.
TEST(TrainCifar, GroupNormAndDropoutTrainAndResume) {
  const std::string data = tiny_cifar(20), full = fresh_dir("gn_full"), part = fresh_dir("gn_part");
  const std::string options = data + kTiny + " --norm group --dropout 0.3 --method multimix";
  ASSERT_EQ(train("--data " + options + " --epochs 2 --out " + full).status, 0);
  ASSERT_EQ(train("--data " + options + " --epochs 1 --out " + part).status, 0);
  Outcome resumed = train("--data " + options + " --epochs 2 --out " + part + " --resume " + part + "/last.safetensors");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(metrics(full)[1].at("train_loss").number, metrics(part)[1].at("train_loss").number);
  EXPECT_EQ(metrics(full)[1].at("top1").number, metrics(part)[1].at("top1").number);
  EXPECT_EQ(load_safetensors(full + "/last.safetensors").metadata.at("norm"), "group");
  expect_clean_failure(train("--data " + data + kTiny + " --norm batch --epochs 3 --resume " + part), "--norm batch");
  Outcome ev = evaluate("--checkpoint " + full + "/last.safetensors --attacks none");
  EXPECT_EQ(ev.status, 0) << ev.err;
  expect_clean_failure(train("--data " + data + kTiny + " --norm layer"), "layer");
}

// A checkpoint whose weights hold a NaN is refused by evaluate and --resume with the tensor's name
// (before: evaluate reported 100 % top-1, since every comparison with NaN is false).
TEST(TrainCifar, NonFiniteWeightsAreRefused) {
  const std::string data = tiny_cifar(20), out = fresh_dir("nan_weights");
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --out " + out).status, 0);
  TensorFile file = load_safetensors(out + "/last.safetensors");
  Tensor w = file.tensors.at("classifier.weight").clone();
  w.data<float>()[3] = NAN;
  file.tensors["classifier.weight"] = w;
  save_safetensors(out + "/nan.safetensors", file.tensors, file.metadata);
  expect_clean_failure(evaluate("--checkpoint " + out + "/nan.safetensors --attacks none"), "classifier.weight");
  expect_clean_failure(train("--data " + data + kTiny + " --epochs 2 --out " + out + " --resume " + out + "/nan.safetensors"),
                       "classifier.weight");
}

// Redirected to one file, stdout and stderr arrive in the order they were printed (stdout is
// line-buffered, not block-buffered): the data line comes before the error that follows it.
TEST(TrainCifar, OutputIsLineBuffered) {
  const std::string data = tiny_cifar(20), log = ::testing::TempDir() + "mm_train_order.log";
  const std::string cmd = std::string(MM_TRAIN_CIFAR) + " --data " + data + kTiny +
                          " --method dense-multimix --dense-resolution 3 --out " + fresh_dir("order") + " > " + log + " 2>&1";
  ASSERT_NE(std::system(cmd.c_str()), 0);
  const std::string text = read_file(log);
  ASSERT_NE(text.find("data: "), std::string::npos) << text;
  ASSERT_NE(text.find("error"), std::string::npos) << text;
  EXPECT_LT(text.find("data: "), text.find("error")) << text;
}

TEST(TrainCifar, BadInputFailsWithOneLine) {
  const std::string data = tiny_cifar(20);
  expect_clean_failure(train("--bogus-flag 1"), "--bogus-flag");
  expect_clean_failure(train("--data " + data + kTiny + " --epochs x"), "--epochs");
  expect_clean_failure(train("--data " + data + kTiny + " --epochs"), "needs a value");
  expect_clean_failure(train("--data /nonexistent" + kTiny), "/nonexistent");
  expect_clean_failure(train("--data " + data + kTiny + " --model resnet50"), "resnet50");
  expect_clean_failure(train("--data " + data + kTiny + " --dataset mnist"), "mnist");
  expect_clean_failure(train("--data " + data + kTiny + " --device tpu"), "tpu");
  expect_clean_failure(train("--data " + data + kTiny + " --method mixmatch"), "mixmatch");
  expect_clean_failure(train("--data " + data + kTiny + " --method dense-multimix --dense-resolution 3"), "resolution");
  expect_clean_failure(train("--data " + data + kTiny + " --alpha-range 2"), "alpha-range");
  expect_clean_failure(train("--data " + data + kTiny + " --attention max"), "max");
  fs::resize_file(data + "/data_batch_2.bin", 3073 * 20 - 1);
  expect_clean_failure(train("--data " + data + kTiny), "data_batch_2.bin");
}

TEST(TrainCifar, MismatchedCheckpointAndNanLossStopCleanly) {
  const std::string data = tiny_cifar(20), out = fresh_dir("nan");
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --out " + out).status, 0);
  expect_clean_failure(train("--data " + data + kTiny + " --width 4 --epochs 2 --out " + out + " --resume " + out +
                             "/last.safetensors"),
                       "width");
  expect_clean_failure(train("--data " + data + kTiny + " --epochs 2 --out " + out + " --resume " + data + "/test_batch.bin"),
                       "test_batch.bin");
  // A learning rate this large overflows within a few steps: the run stops with the step named.
  expect_clean_failure(train("--data " + data + kTiny + " --epochs 2 --lr 1e30 --out " + fresh_dir("nan_lr")), "loss");
  EXPECT_EQ(load_safetensors(out + "/last.safetensors").metadata.at("epoch"), "1");
}

// Every flag and path is checked before any data is read: the run fails with one line and has
// printed no "data:" line. Numbers beyond a long no longer wrap (--width 4294967300 trained width 4).
TEST(TrainCifar, FlagsAreCheckedBeforeDataIsRead) {
  const std::string data = tiny_cifar(20), out = fresh_dir("flags");
  auto refused = [&](const std::string& args, const std::string& needle) {
    const Outcome r = train("--data " + data + kTiny + " --out " + out + " " + args);
    expect_clean_failure(r, needle);
    EXPECT_EQ(r.out.find("data:"), std::string::npos) << args << ": " << r.out;
  };
  refused("--width 4294967300", "--width");
  refused("--batch-size 100000000000000000000", "--batch-size");
  refused("--batch-size 1e20", "--batch-size");
  refused("--workers 100000", "--workers");
  refused("--eval-batch-size 0", "--eval-batch-size");
  refused("--momentum nan", "--momentum");
  refused("--lr inf", "--lr");
  refused("--weight-decay -5", "--weight-decay");
  refused("--milestones -1,99999", "--milestones");
  refused("--milestones 2,1 --epochs 3", "--milestones");
  refused("--seed -1", "--seed");
  refused("--log-every 0", "--log-every");
  refused("--n 0", "--n");
  refused("--cpu-conv mkl", "--cpu-conv");
  refused("--augment-on gpu", "--augment-on");
  refused("--cuda-graph", "--cuda-graph");  // kTiny runs on the CPU
  refused("--teacher-stream", "--teacher-stream: only with --distill");
  refused("--distill --teacher-stream", "--teacher-stream needs --device cuda");
  refused("--precision bf16", "--precision bf16 needs a GPU");
  refused("--precision tf32", "--precision tf32 needs a GPU");
  refused("--precision fp16", "--precision");
  refused("--init /nonexistent.safetensors", "/nonexistent.safetensors");
  std::ofstream(out + "_file") << "x";
  refused("--out " + out + "_file/run", out + "_file/run");
}

// --resume OUT takes the run's saved settings (no other flag needed, not even --data) and gives
// the numbers of an uninterrupted run; a flag that would change the run is refused, naming each
// difference; the data may move but not change; metadata errors name the key.
TEST(TrainCifar, ResumeTakesTheSavedSettingsAndRefusesChanges) {
  const std::string data = tiny_cifar(20), full = fresh_dir("saved_full"), part = fresh_dir("saved_part");
  const std::string options = "--data " + data + kTiny + " --method multimix --n 20 --distill --lr 0.05 --seed 2";
  ASSERT_EQ(train(options + " --epochs 2 --out " + full).status, 0);
  ASSERT_EQ(train(options + " --epochs 1 --out " + part).status, 0);
  expect_clean_failure(train(options + " --epochs 2 --out " + part), "--resume");  // a fresh run over a run
  const Outcome resumed = train("--resume " + part + " --epochs 2");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("outputs are in " + part), std::string::npos) << resumed.out;
  ASSERT_EQ(metrics(part).size(), 2u);
  EXPECT_EQ(metrics(full)[1].at("train_loss").number, metrics(part)[1].at("train_loss").number);
  EXPECT_EQ(metrics(full)[1].at("top1").number, metrics(part)[1].at("top1").number);
  const Outcome changed = train("--resume " + part + " --epochs 3 --method erm --seed 5 --lr 0.050");
  expect_clean_failure(changed, "--method erm");
  EXPECT_NE(changed.err.find("--seed 5"), std::string::npos) << changed.err;
  EXPECT_EQ(changed.err.find("--lr"), std::string::npos) << changed.err;  // 0.050 is the run's 0.05
  expect_clean_failure(train("--resume " + part + " --epochs 1"), "--epochs 1");
  // continuing into another run's folder would replace its checkpoints
  expect_clean_failure(train("--resume " + part + " --epochs 3 --out " + full), "already holds a run");
  // the same files elsewhere are the same dataset; other files are not
  const std::string moved = fresh_dir("moved_data");
  fs::copy(data, moved);
  EXPECT_EQ(train("--resume " + part + " --epochs 3 --data " + moved).status, 0);
  const std::string other = tiny_cifar(30);
  expect_clean_failure(train("--resume " + part + " --epochs 4 --data " + other), "was trained on");
  // metadata that is not what a checkpoint holds names the key
  TensorFile file = load_safetensors(part + "/last.safetensors");
  file.metadata["epoch"] = "-3";
  save_safetensors(part + "/bad.safetensors", file.tensors, file.metadata);
  expect_clean_failure(train("--resume " + part + "/bad.safetensors"), "'epoch'");
  file.metadata["epoch"] = "1", file.metadata["width"] = "abc";
  save_safetensors(part + "/bad.safetensors", file.tensors, file.metadata);
  expect_clean_failure(train("--resume " + part + "/bad.safetensors"), "'width'");
}

// Runs train_cifar in the background, its output in files beside `log`; returns its pid.
pid_t start_train(const std::string& args, const std::string& log) {
  const std::string cmd = "exec " + std::string(MM_TRAIN_CIFAR) + " " + args + " > " + log + ".out 2> " + log + ".err";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}
int wait_for_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
// Waits (up to ten minutes) until `ready` holds; false if the process ended first.
bool wait_until(pid_t pid, const std::function<bool()>& ready) {
  for (int i = 0; i < 60000; ++i) {
    if (ready()) return true;
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}
// Whole lines only: the file may be being written.
size_t line_count(const std::string& path) {
  const std::string text = read_file(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Ctrl-C stops at the next step with a checkpoint of it and exit 130; --resume goes on mid-epoch
// with exactly the numbers (metrics and loss log) of an uninterrupted run.
TEST(TrainCifar, InterruptedRunResumesMidEpochExactly) {
  const std::string data = tiny_cifar(60), full = fresh_dir("sig_full"), part = fresh_dir("sig_part");
  const std::string options = "--data " + data + kTiny + " --method multimix --n 20 --epochs 2 --log-every 3";
  ASSERT_EQ(train(options + " --out " + full + " --loss-log " + full + "/loss.jsonl").status, 0);
  const pid_t pid = start_train(options + " --out " + part + " --loss-log " + part + "/loss.jsonl", part);
  ASSERT_TRUE(wait_until(pid, [&] { return line_count(part + "/loss.jsonl") >= 1; }))
      << "the run ended before it could be interrupted";
  kill(pid, SIGINT);
  ASSERT_EQ(wait_for_exit(pid), 130) << read_file(part + ".err");
  EXPECT_NE(read_file(part + ".out").find("--resume " + part), std::string::npos) << read_file(part + ".out");
  const TensorFile stopped = load_safetensors(part + "/last.safetensors");
  EXPECT_NE(stopped.metadata.at("step"), "0");  // in the middle of an epoch (the epoch has 18 steps)
  const Outcome resumed = train("--resume " + part + " --loss-log " + part + "/loss.jsonl --log-every 3");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  const auto a = metrics(full), b = metrics(part);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t e = 0; e < 2; ++e)
    for (const char* key : {"epoch", "train_loss", "test_loss", "top1", "top5", "best_top1"})
      EXPECT_EQ(a[e].at(key).number, b[e].at(key).number) << key << " of epoch " << e + 1;
  EXPECT_EQ(read_file(full + "/loss.jsonl"), read_file(part + "/loss.jsonl"));
}

// kill -9 at any moment (here: after a mid-epoch checkpoint, and after an epoch's row) loses at
// most the steps since the last checkpoint; after the resumes metrics.jsonl has one row per
// epoch, in order, equal to an uninterrupted run's, and no .tmp file is left.
TEST(TrainCifar, KilledRunsResumeToTheSameMetrics) {
  const std::string data = tiny_cifar(60), full = fresh_dir("kill_full"), part = fresh_dir("kill_part");
  const std::string options = "--data " + data + kTiny + " --epochs 3 --checkpoint-every 5";
  ASSERT_EQ(train(options + " --out " + full).status, 0);
  pid_t pid = start_train(options + " --out " + part, part);
  ASSERT_TRUE(wait_until(pid, [&] { return fs::exists(part + "/last.safetensors"); }));
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_for_exit(pid), 128 + SIGKILL);
  pid = start_train("--resume " + part, part);
  ASSERT_TRUE(wait_until(pid, [&] { return line_count(part + "/metrics.jsonl") >= 1; })) << read_file(part + ".err");
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_for_exit(pid), 128 + SIGKILL);
  const Outcome last = train("--resume " + part);
  ASSERT_EQ(last.status, 0) << last.err;
  const auto a = metrics(full), b = metrics(part);
  ASSERT_EQ(b.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(b[e].at("epoch").number, e + 1.0);
    EXPECT_EQ(a[e].at("train_loss").number, b[e].at("train_loss").number) << e;
    EXPECT_EQ(a[e].at("top1").number, b[e].at("top1").number) << e;
  }
  for (const auto& entry : fs::directory_iterator(part)) EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

#ifdef MM_MPIEXEC
// Data-parallel runs (docs/distributed.md) as a user starts them: mpirun -np 2 train_cifar. The
// options let OpenMPI run as root on 2 cores shared with other tests (a rank waiting in a
// collective yields its core instead of spinning on it).
const std::string kMpirun = fmt::format("timeout 300 {} --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 "
                                        "-x OMP_NUM_THREADS=1", MM_MPIEXEC);
Outcome train_on_ranks(int ranks, const std::string& args) {
  return run_app(fmt::format("{} -np {} {}", kMpirun, ranks, MM_TRAIN_CIFAR), args);
}

// Two ranks, batch norm per rank (each step starts from rank 0's statistics), MultiMix with each
// rank's own draws: a run resumed after its first epoch gives the metrics and loss log of the
// uninterrupted run, and the folder is written once (by rank 0). Resuming on another number of
// ranks is refused.
TEST(TrainCifarTwoRanks, ResumedRunEqualsUninterruptedRun) {
  const std::string data = tiny_cifar(40), full = fresh_dir("dp_full"), part = fresh_dir("dp_part");
  const std::string options = "--data " + data + kTiny + " --batch-size 8 --method multimix --n 20 --log-every 2";
  const Outcome a = train_on_ranks(2, options + " --epochs 2 --out " + full + " --loss-log " + full + "/loss.jsonl");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("data-parallel: 2 ranks x batch 8 = 16 images per step"), std::string::npos) << a.out;
  EXPECT_EQ(a.out, read_file(full + "/train.log")) << "every line once, from rank 0";
  ASSERT_EQ(train_on_ranks(2, options + " --epochs 1 --out " + part + " --loss-log " + part + "/loss.jsonl").status, 0);
  const Outcome refused = train("--resume " + part + " --epochs 2");
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("resume it with mpirun -np 2"), std::string::npos) << refused.err;
  const Outcome resumed = train_on_ranks(2, "--resume " + part + " --epochs 2 --loss-log " + part + "/loss.jsonl --log-every 2");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  const auto m_full = metrics(full), m_part = metrics(part);
  ASSERT_EQ(m_full.size(), 2u);
  ASSERT_EQ(m_part.size(), 2u);
  for (size_t e = 0; e < 2; ++e)
    for (const char* key : {"train_loss", "test_loss", "top1", "top5", "best_top1"})
      EXPECT_EQ(m_full[e].at(key).number, m_part[e].at(key).number) << key << " of epoch " << e + 1;
  EXPECT_EQ(read_file(full + "/loss.jsonl"), read_file(part + "/loss.jsonl"));
}

// The data-parallel issue's check, exactly: with --sync-bn, 2 ranks of batch m train what one
// process of batch 2m trains. In float32 the two part by rounding within a few dozen steps at lr
// 0.1 (so does one process with 1 and 2 threads: BENCHMARKS.md), so the runs are in float64 here,
// where they must agree to 1e-9: every epoch's losses and accuracies, and the loss log.
TEST(TrainCifarTwoRanks, SyncBnEqualsOneProcessWithTheWholeBatchInFloat64) {
  const std::string data = tiny_cifar(40), one = fresh_dir("dp_one"), two = fresh_dir("dp_two");
  const std::string options = "--data " + data + kTiny + " --epochs 2 --dtype float64 --log-every 1";
  const Outcome a = train(options + " --batch-size 16 --out " + one + " --loss-log " + one + "/loss.jsonl");
  ASSERT_EQ(a.status, 0) << a.err;
  const Outcome b = train_on_ranks(2, options + " --batch-size 8 --sync-bn --out " + two + " --loss-log " + two + "/loss.jsonl");
  ASSERT_EQ(b.status, 0) << b.err;
  const auto m1 = metrics(one), m2 = metrics(two);
  ASSERT_EQ(m1.size(), 2u);
  ASSERT_EQ(m2.size(), 2u);
  for (size_t e = 0; e < 2; ++e)
    for (const char* key : {"train_loss", "test_loss", "top1", "top5"})
      EXPECT_NEAR(m1[e].at(key).number, m2[e].at(key).number, 1e-9 * std::max(1.0, std::abs(m1[e].at(key).number)))
          << key << " of epoch " << e + 1;
  EXPECT_EQ(read_file(one + "/loss.jsonl"), read_file(two + "/loss.jsonl"));  // 6 decimals, every step
  // a float64 checkpoint evaluates like any other (rounded to float32)
  const Outcome e = evaluate("--checkpoint " + two + "/last.safetensors --data " + data + " --dataset cifar10 --device cpu "
                             "--attacks none --map none --out " + two + "/eval.json");
  EXPECT_EQ(e.status, 0) << e.err;
}

// A rank that fails (here rank 1 is given a data folder that does not exist: mpirun's MPMD form)
// prints its error with its rank and ends the whole job with a non-zero status, without hanging.
TEST(TrainCifarTwoRanks, AFailingRankStopsEveryRank) {
  const std::string data = tiny_cifar(20), out = fresh_dir("dp_fail");
  const std::string common = kTiny + " --epochs 1 --out " + out;
  const auto start = std::chrono::steady_clock::now();
  const Outcome r = run_app(kMpirun,
                            fmt::format("-np 1 {} --data {} {} : -np 1 {} --data {}/missing {}", MM_TRAIN_CIFAR, data, common,
                                        MM_TRAIN_CIFAR, data, common));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "the job hung until timeout killed it";
  EXPECT_NE(r.err.find("train_cifar (rank 1 of 2): error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 120);
}
#endif

// evaluate reads a checkpoint and the data it was trained on, and reports every measure of docs/math.md §4.
TEST(Evaluate, ReportsAccuracyRobustnessOodAndEmbeddings) {
  const std::string data = tiny_cifar(20), out = fresh_dir("eval");
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --distill --method multimix --n 32 --out " + out).status, 0);
  const std::string ckpt = " --checkpoint " + out + "/last.safetensors";
  Outcome r = evaluate(ckpt + " --pgd-steps 2 --batch-size 7 --ood-dataset cifar10 --ood-data " + data + " --out " + out +
                       "/eval.json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json::Value v = json::parse(read_file(out + "/eval.json"));
  for (const char* key : {"top1", "top5", "fgsm_error", "pgd_error", "ood_detection_accuracy", "ood_auroc", "ood_aupr_in",
                          "ood_aupr_out"}) {
    EXPECT_GE(v.at(key).number, 0) << key;
    EXPECT_LE(v.at(key).number, 100) << key;
  }
  EXPECT_GE(v.at("top5").number, v.at("top1").number);
  EXPECT_EQ(v.at("ood_auroc").number, 50);  // the OOD split is the test split itself: no better than chance
  // the page beside the checkpoint: the ROC from (0, 0) to (1, 1) through every distinct score, the
  // map with a point for each of the 20 test images (10 classes, 2 each)
  const std::string page = read_file(out + "/last.evaluate.html");
  EXPECT_NE(page.find("data-name=\"chance\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(page.find("max softmax (AuROC 50.0 %)"), std::string::npos);
  int mapped = 0;
  for (int c = 0; c < 10; ++c)
    mapped += page.find("data-name=\"class " + std::to_string(c) + "\" data-points=\"2\"") != std::string::npos;
  EXPECT_EQ(mapped, 10);
  // every random draw belongs to an image (PGD's start), so the batch size changes nothing
  ASSERT_EQ(evaluate(ckpt + " --pgd-steps 2 --batch-size 16 --out " + out + "/eval16.json").status, 0);
  const json::Value v16 = json::parse(read_file(out + "/eval16.json"));
  for (const char* key : {"top1", "top5", "fgsm_error", "pgd_error"}) EXPECT_EQ(v16.at(key).number, v.at(key).number) << key;
  EXPECT_GE(v.at("alignment").number, 0);
  EXPECT_LE(v.at("alignment").number, 4);  // squared distances of unit vectors
  EXPECT_LE(v.at("uniformity").number, 0);
  // the teacher is there too; the test accuracy is the one train_cifar logged for the student
  ASSERT_EQ(evaluate(ckpt + " --teacher --attacks none --out " + out + "/teacher.json").status, 0);
  EXPECT_FALSE(json::parse(read_file(out + "/teacher.json")).has("fgsm_error"));
  EXPECT_NEAR(v.at("top1").number, metrics(out)[0].at("top1").number, 1e-3);
  expect_clean_failure(evaluate(ckpt + " --attacks cw"), "cw");
  expect_clean_failure(evaluate(ckpt + " --device cpu --precision bf16"), "--precision bf16 needs a GPU");
  expect_clean_failure(evaluate(" --checkpoint " + data + "/test_batch.bin"), "test_batch.bin");
  expect_clean_failure(evaluate(ckpt + " --ood-data /nonexistent"), "/nonexistent");
  expect_clean_failure(evaluate(""), "--checkpoint");
  const std::string plain = fresh_dir("eval_plain");
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --out " + plain).status, 0);
  expect_clean_failure(evaluate(" --teacher --checkpoint " + plain + "/last.safetensors"), "teacher");
}

// A bad --out fails before the evaluation, and a run whose data has moved asks for --data.
TEST(Evaluate, BadOutputAndMovedDataFailFirst) {
  const std::string data = tiny_cifar(20), out = fresh_dir("eval_fail");
  ASSERT_EQ(train("--data " + data + kTiny + " --epochs 1 --out " + out).status, 0);
  const std::string ckpt = " --checkpoint " + out + "/last.safetensors";
  const Outcome bad_out = evaluate(ckpt + " --out /nonexistent/x.json");
  expect_clean_failure(bad_out, "/nonexistent/x.json");
  EXPECT_EQ(bad_out.out.find("accuracy"), std::string::npos) << bad_out.out;
  const std::string moved = fresh_dir("eval_moved");
  fs::rename(data, moved);
  expect_clean_failure(evaluate(ckpt + " --attacks none"), "--data");
  const Outcome found = evaluate(ckpt + " --attacks none --data " + moved);
  EXPECT_EQ(found.status, 0) << found.err;
  EXPECT_NE(found.err.find("test: 20/20 images"), std::string::npos) << found.err;  // progress, not on a terminal
}

// compare: two seeds of two methods give one row per method with mean ± std, the page overlays
// every run's curve with a point per epoch.
TEST(Compare, GroupsRunsByMethodWithMeanAndStd) {
  const std::string data = tiny_cifar(20);
  std::string dirs;
  for (const char* method : {"erm", "multimix"})
    for (int seed : {0, 1}) {
      const std::string out = fresh_dir(std::string("cmp_") + method + std::to_string(seed));
      ASSERT_EQ(train("--data " + data + kTiny + " --epochs 2 --method " + method + " --seed " + std::to_string(seed) +
                      " --out " + out).status, 0);
      dirs += " " + out;
    }
  const std::string page = fresh_dir("cmp") + ".html";
  const Outcome r = run_app(MM_COMPARE, dirs + " --out " + page);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("| erm (preactresnet18 width 2) | 2 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| multimix (preactresnet18 width 2) | 2 | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ± "), std::string::npos) << r.out;
  const std::string html = read_file(page);
  EXPECT_NE(html.find("data-name=\"mm_train_cmp_erm1\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(html.find("<td>multimix (preactresnet18 width 2)</td><td>2</td>"), std::string::npos);
  expect_clean_failure(run_app(MM_COMPARE, " /nonexistent-run"), "/nonexistent-run");
}

// bench --json writes the paper's Figure 5 beside it: MultiMix over n, erm's level, the dense points.
TEST(Bench, WritesTheSpeedAgainstNChart) {
  const std::string json_path = fresh_dir("bench") + ".json";
  const Outcome r = run_app(MM_BENCH, "--width 2 --batch-size 4 --num-classes 10 --steps 1 --warmup 0 --rounds 1 --ns 10,100 "
                                      "--json " + json_path);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string svg = read_file(json_path.substr(0, json_path.size() - 5) + ".svg");
  EXPECT_NE(svg.find("data-name=\"MultiMix\" data-points=\"2\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("data-name=\"erm\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(svg.find("data-name=\"dense+distill n=1000\" data-points=\"1\""), std::string::npos);
  EXPECT_EQ(json::parse(read_file(json_path)).array.size(), 5u);
}

// Every method trains with finite loss that goes down over three short epochs.
class TrainMethod : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainMethod, FiniteDecreasingLoss) {
  const std::string data = tiny_cifar(40), out = fresh_dir("method");
  Outcome r = train("--data " + data + kTiny + " --epochs 3 --lr 0.05 --n 64 --mix-prob 1 " + GetParam() + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  auto m = metrics(out);
  ASSERT_EQ(m.size(), 3u);
  for (const auto& e : m) EXPECT_TRUE(std::isfinite(e.at("train_loss").number));
  EXPECT_LT(m[2].at("train_loss").number, m[0].at("train_loss").number) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Methods, TrainMethod,
                         ::testing::Values("--method erm", "--method mixup", "--method manifold", "--method cutmix",
                                           "--method multimix", "--method dense-multimix",
                                           "--method multimix --mix-layer 2", "--method dense-multimix --attention cam-softmax",
                                           "--method dense-multimix --distill", "--method multimix --distill --mix-prob 0.5"));

TEST(TrainCifar, ResumeIsExactWithDistillation) {
  const std::string data = tiny_cifar(20), full = fresh_dir("dfull"), part = fresh_dir("dpart");
  const std::string common = "--data " + data + kTiny + " --method dense-multimix --distill --n 50 --ema 0.9";
  ASSERT_EQ(train(common + " --epochs 2 --out " + full).status, 0);
  ASSERT_EQ(train(common + " --epochs 1 --out " + part).status, 0);
  Outcome c = train(common + " --epochs 2 --out " + part + " --resume " + part + "/last.safetensors");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(metrics(full)[1].at("train_loss").number, metrics(part)[1].at("train_loss").number);
  EXPECT_TRUE(load_safetensors(full + "/last.safetensors").has("teacher.encoder.conv1.weight"));
}

// Label slow: real CIFAR-10 images (JPEG copy) when ../shared/data is present: train briefly, then
// evaluate the checkpoint under attack.
TEST(TrainCifarSlow, LearnsRealCifar10WellAboveChance) {
  const std::string data = std::string(MM_SOURCE_DIR) + "/../shared/data/cifar10-jpeg";
  if (!fs::is_directory(data + "/train")) GTEST_SKIP() << "no dataset at " << data << " (skipped, not passed)";
  const std::string out = fresh_dir("cifar10");
  Outcome r = train("--data " + data + " --dataset folder --width 8 --epochs 1 --limit-train 10000 --limit-test 2000"
                " --batch-size 64 --device cpu --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  auto m = metrics(out);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_GT(m[0].at("top1").number, 25.0) << r.out;  // chance is 10 %
  EXPECT_GT(m[0].at("top5").number, 65.0) << r.out;  // chance is 50 %
  EXPECT_GE(m[0].at("top5").number, m[0].at("top1").number) << r.out;
  // the attacks raise the error of a model that has learnt something (a wrong sign would lower it)
  Outcome e = evaluate("--checkpoint " + out + "/last.safetensors --limit-test 500 --pgd-steps 5 --out " + out + "/eval.json");
  ASSERT_EQ(e.status, 0) << e.err;
  const json::Value v = json::parse(read_file(out + "/eval.json"));
  const double clean_error = 100 - v.at("top1").number;
  EXPECT_GT(v.at("fgsm_error").number, clean_error + 10) << e.out;
  EXPECT_GT(v.at("pgd_error").number, clean_error + 5) << e.out;
}

}  // namespace
}  // namespace mm
