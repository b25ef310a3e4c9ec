#pragma once
// Training checkpoints: one safetensors file holding the model under its docs/math.md §1 names (PyTorch
// layouts, so the file loads as a PyTorch state dict after dropping the prefixed entries), the
// optimiser's momentum buffers as "optimizer.momentum.<name>", the EMA teacher (if any) as
// "teacher.<name>", and metadata: format, model, width, num_classes, epoch (completed epochs),
// best_top1, seed, the full config as JSON, the metrics rows so far and the progress of an
// unfinished epoch. Written atomically.
#include <map>
#include <memory>
#include <string>

#include "engine/optim.h"
#include "engine/safetensors.h"
#include "models/network.h"

namespace mm {

constexpr const char* kCheckpointFormat = "multimix-checkpoint-1";

// Where an unfinished epoch stands, so that a run stopped mid-epoch (Ctrl-C, --checkpoint-every)
// resumes with the numbers of an uninterrupted one: the loss sums are those the epoch keeps.
struct EpochProgress {
  int64_t step = 0;           // steps done in the epoch (0: at its start)
  int64_t images = 0;         // images trained on in those steps
  double loss_sum = 0;        // sum over the steps of loss x batch size (a float32 on the device)
  int64_t logged_images = 0;  // images and loss sum at the last --loss-log line
  double logged_loss_sum = 0;
  double seconds = 0;         // training time spent on the epoch
};

struct CheckpointInfo {
  std::string model;
  int width = 0, num_classes = 0, epoch = 0;  // epoch: completed epochs
  std::string norm = "batch";  // the models' normalisation layers (layers/norm.h)
  double best_top1 = 0;
  uint64_t seed = 0;
  std::string config_json;    // the run's settings, {"flag": "value", ...}
  std::string metrics_jsonl;  // OUT/metrics.jsonl as of this checkpoint: one row per completed epoch
  EpochProgress progress;     // of epoch `epoch` + 1 when the checkpoint was written mid-epoch
};

void save_checkpoint(const std::string& path, const Network& net, const Sgd& sgd, const Network* teacher,
                     const CheckpointInfo& info);

// Reads a checkpoint into net, sgd and teacher. Throws, naming the file, when it is not a
// checkpoint or was written for another model, width, number of classes or normalisation.
CheckpointInfo load_checkpoint(const std::string& path, Network& net, Sgd& sgd, Network* teacher,
                               const std::string& model, int width, int num_classes, const std::string& norm = "batch");

// The metadata of a checkpoint, checked (one clear error naming the file and the key when a value
// is missing or malformed).
CheckpointInfo read_checkpoint_info(const std::string& path);

// Copies the model weights of a weights file into net: a PyTorch state dict under the model's names
// (as probe and tests/reference/train_reference.py --save-init write them) or a checkpoint, of which
// only the model part is read. Throws, naming the file, when it holds another model or width.
void load_weights(const std::string& path, Network& net);

// The network a checkpoint holds, built to the model, width and classes of its metadata: the
// student, or with `teacher` its EMA teacher (an error when the run did not distil). For evaluation;
// info (may be null) receives the metadata.
std::unique_ptr<Network> load_checkpoint_network(const std::string& path, bool teacher, CheckpointInfo* info);

}  // namespace mm
