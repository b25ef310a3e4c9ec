#pragma once
// Training checkpoints: one safetensors file holding the model under its docs/math.md §1 names (PyTorch
// layouts, so the file loads as a PyTorch state dict after dropping the prefixed entries), the
// optimiser's momentum buffers as "optimizer.momentum.<name>", the EMA teacher (if any) as
// "teacher.<name>", and metadata: format, model, width, num_classes, epoch (completed epochs),
// best_top1, seed and the full config as JSON. Written atomically.
#include <map>
#include <memory>
#include <string>

#include "engine/optim.h"
#include "engine/safetensors.h"
#include "models/network.h"

namespace mm {

constexpr const char* kCheckpointFormat = "multimix-checkpoint-1";

struct CheckpointInfo {
  std::string model;
  int width = 0, num_classes = 0, epoch = 0;
  std::string norm = "batch";  // the models' normalisation layers (layers/norm.h)
  double best_top1 = 0;
  uint64_t seed = 0;
  std::string config_json;
};

void save_checkpoint(const std::string& path, const Network& net, const Sgd& sgd, const Network* teacher,
                     const CheckpointInfo& info);

// Reads a checkpoint into net, sgd and teacher. Throws, naming the file, when it is not a
// checkpoint or was written for another model, width, number of classes or normalisation.
CheckpointInfo load_checkpoint(const std::string& path, Network& net, Sgd& sgd, Network* teacher,
                               const std::string& model, int width, int num_classes, const std::string& norm = "batch");

// Copies the model weights of a weights file into net: a PyTorch state dict under the model's names
// (as probe and tests/reference/train_reference.py --save-init write them) or a checkpoint, of which
// only the model part is read. Throws, naming the file, when it holds another model or width.
void load_weights(const std::string& path, Network& net);

// The network a checkpoint holds, built to the model, width and classes of its metadata: the
// student, or with `teacher` its EMA teacher (an error when the run did not distil). For evaluation;
// info (may be null) receives the metadata.
std::unique_ptr<Network> load_checkpoint_network(const std::string& path, bool teacher, CheckpointInfo* info);

}  // namespace mm
