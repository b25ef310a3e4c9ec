#include "train/checkpoint.h"

#include "layers/state_dict.h"

namespace mm {

void save_checkpoint(const std::string& path, const Network& net, const Sgd& sgd, const Network* teacher,
                     const CheckpointInfo& info) {
  std::map<std::string, Tensor> tensors = state_dict(net);
  const auto params = net.named_parameters();
  const auto& buffers = sgd.momentum_buffers();
  for (size_t k = 0; k < params.size(); ++k)
    if (buffers[k].defined()) tensors["optimizer.momentum." + params[k].name] = to_file_layout(buffers[k], params[k].layout);
  if (teacher)
    for (const auto& [name, t] : state_dict(*teacher)) tensors["teacher." + name] = t;
  save_safetensors(path, tensors,
                   {{"format", kCheckpointFormat},
                    {"model", info.model},
                    {"width", std::to_string(info.width)},
                    {"num_classes", std::to_string(info.num_classes)},
                    {"norm", info.norm},
                    {"epoch", std::to_string(info.epoch)},
                    {"best_top1", fmt::format("{:.17g}", info.best_top1)},
                    {"seed", std::to_string(info.seed)},
                    {"config", info.config_json}});
}

namespace {
CheckpointInfo read_info(const TensorFile& file, const std::string& path) {
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    MM_CHECK(it != file.metadata.end(), "{}: not a train_cifar checkpoint (no '{}' in its metadata)", path, key);
    return it->second;
  };
  MM_CHECK(meta("format") == kCheckpointFormat, "{}: checkpoint format '{}', expected '{}'", path, meta("format"),
           kCheckpointFormat);
  CheckpointInfo info{meta("model"), std::stoi(meta("width")), std::stoi(meta("num_classes")), std::stoi(meta("epoch")),
                      "batch", std::stod(meta("best_top1")), std::stoull(meta("seed")), meta("config")};
  auto norm = file.metadata.find("norm");  // absent in checkpoints of before group norm: batch norm
  if (norm != file.metadata.end()) info.norm = norm->second;
  return info;
}

// The tensors of a checkpoint that belong to one network: the student's are the names without a
// prefix (other than "optimizer." and "teacher."), the teacher's those under "teacher.".
TensorFile network_part(const TensorFile& file, bool teacher) {
  TensorFile part;
  part.source = file.source;
  for (const auto& [name, t] : file.tensors) {
    const bool is_teacher = name.rfind("teacher.", 0) == 0, is_optimizer = name.rfind("optimizer.", 0) == 0;
    if (teacher && is_teacher) part.tensors[name.substr(8)] = t;
    if (!teacher && !is_teacher && !is_optimizer) part.tensors[name] = t;
  }
  return part;
}
}  // namespace

void load_weights(const std::string& path, Network& net) { load_state_dict(net, network_part(load_safetensors(path), false)); }

CheckpointInfo load_checkpoint(const std::string& path, Network& net, Sgd& sgd, Network* teacher,
                               const std::string& model, int width, int num_classes, const std::string& norm) {
  const TensorFile file = load_safetensors(path);
  const CheckpointInfo info = read_info(file, path);
  MM_CHECK(info.model == model && info.width == width && info.num_classes == num_classes && info.norm == norm,
           "{}: checkpoint of {} width {} with {} classes and {} norm, but this run is {} width {} with {} classes and {} norm",
           path, info.model, info.width, info.num_classes, info.norm, model, width, num_classes, norm);
  load_state_dict(net, network_part(file, false));
  if (teacher) {
    const TensorFile teacher_part = network_part(file, true);
    MM_CHECK(!teacher_part.tensors.empty(), "{}: the run distils but the checkpoint has no teacher", path);
    load_state_dict(*teacher, teacher_part);
  }
  const auto params = net.named_parameters();
  auto& buffers = sgd.momentum_buffers();
  for (size_t k = 0; k < params.size(); ++k) {
    const std::string key = "optimizer.momentum." + params[k].name;
    buffers[k] = file.has(key) ? from_file_layout(file.at(key), params[k].layout).clone() : Tensor();
    if (buffers[k].defined()) check_shape(buffers[k], params[k].tensor.shape(), key.c_str());
  }
  return info;
}

std::unique_ptr<Network> load_checkpoint_network(const std::string& path, bool teacher, CheckpointInfo* info) {
  const CheckpointInfo meta = read_info(load_safetensors(path), path);
  const NormKind norm = parse_norm(meta.norm);
  auto student = make_network(meta.model, meta.width, meta.num_classes, 0, norm);
  std::unique_ptr<Network> ema = teacher ? make_network(meta.model, meta.width, meta.num_classes, 0, norm) : nullptr;
  Sgd unused(student->parameters(), SgdOptions{});
  load_checkpoint(path, *student, unused, ema.get(), meta.model, meta.width, meta.num_classes, meta.norm);
  if (info) *info = meta;
  return teacher ? std::move(ema) : std::move(student);
}

}  // namespace mm
