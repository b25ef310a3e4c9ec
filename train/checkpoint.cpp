#include "train/checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "engine/json.h"
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
                    {"config", info.config_json},
                    {"metrics", info.metrics_jsonl},
                    {"step", std::to_string(info.progress.step)},
                    {"epoch_images", std::to_string(info.progress.images)},
                    {"epoch_loss_sum", fmt::format("{:.17g}", info.progress.loss_sum)},
                    {"logged_images", std::to_string(info.progress.logged_images)},
                    {"logged_loss_sum", fmt::format("{:.17g}", info.progress.logged_loss_sum)},
                    {"epoch_seconds", fmt::format("{:.17g}", info.progress.seconds)}});
}

namespace {
CheckpointInfo read_info(const TensorFile& file, const std::string& path) {
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    MM_CHECK(it != file.metadata.end(), "{}: not a train_cifar checkpoint (no '{}' in its metadata)", path, key);
    return it->second;
  };
  // Keys added after the first format (norm, metrics, progress) default to what older runs had.
  auto optional = [&](const char* key, const char* fallback) {
    auto it = file.metadata.find(key);
    return it != file.metadata.end() ? it->second : std::string(fallback);
  };
  auto integer = [&](const std::string& key, const std::string& text, int64_t lo, int64_t hi) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    MM_CHECK(!text.empty() && *end == '\0' && errno != ERANGE && lo <= v && v <= hi,
             "{}: metadata '{}' is '{}', not an integer in [{}, {}]", path, key, text, lo, hi);
    return static_cast<int64_t>(v);
  };
  auto number = [&](const std::string& key, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    MM_CHECK(!text.empty() && *end == '\0' && std::isfinite(v), "{}: metadata '{}' is '{}', not a number", path, key, text);
    return v;
  };
  MM_CHECK(meta("format") == kCheckpointFormat, "{}: checkpoint format '{}', expected '{}'", path, meta("format"),
           kCheckpointFormat);
  constexpr int64_t kIntMax = 2147483647;
  CheckpointInfo info;
  info.model = meta("model");
  info.width = static_cast<int>(integer("width", meta("width"), 1, kIntMax));
  info.num_classes = static_cast<int>(integer("num_classes", meta("num_classes"), 1, kIntMax));
  info.epoch = static_cast<int>(integer("epoch", meta("epoch"), 0, kIntMax));
  info.norm = optional("norm", "batch");  // absent before group norm: batch norm
  info.best_top1 = number("best_top1", meta("best_top1"));
  const std::string seed = meta("seed");
  errno = 0;
  char* end = nullptr;
  info.seed = std::strtoull(seed.c_str(), &end, 10);
  MM_CHECK(!seed.empty() && seed[0] != '-' && *end == '\0' && errno != ERANGE, "{}: metadata 'seed' is '{}', not a seed", path, seed);
  info.config_json = meta("config");
  try {
    MM_CHECK(json::parse(info.config_json).is_object(), "not an object");
  } catch (const Error& e) {
    throw Error(fmt::format("{}: metadata 'config' is not a JSON object of settings ({})", path, e.what()));
  }
  info.metrics_jsonl = optional("metrics", "");
  EpochProgress& p = info.progress;
  constexpr int64_t kInt64Max = 9223372036854775807;
  p.step = integer("step", optional("step", "0"), 0, kInt64Max);
  p.images = integer("epoch_images", optional("epoch_images", "0"), 0, kInt64Max);
  p.loss_sum = number("epoch_loss_sum", optional("epoch_loss_sum", "0"));
  p.logged_images = integer("logged_images", optional("logged_images", "0"), 0, p.images);
  p.logged_loss_sum = number("logged_loss_sum", optional("logged_loss_sum", "0"));
  p.seconds = number("epoch_seconds", optional("epoch_seconds", "0"));
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

CheckpointInfo read_checkpoint_info(const std::string& path) { return read_info(load_safetensors(path), path); }

std::unique_ptr<Network> load_checkpoint_network(const std::string& path, bool teacher, CheckpointInfo* info) {
  const CheckpointInfo meta = read_checkpoint_info(path);
  const NormKind norm = parse_norm(meta.norm);
  auto student = make_network(meta.model, meta.width, meta.num_classes, 0, norm);
  std::unique_ptr<Network> ema = teacher ? make_network(meta.model, meta.width, meta.num_classes, 0, norm) : nullptr;
  Sgd unused(student->parameters(), SgdOptions{});
  load_checkpoint(path, *student, unused, ema.get(), meta.model, meta.width, meta.num_classes, meta.norm);
  if (info) *info = meta;
  return teacher ? std::move(ema) : std::move(student);
}

}  // namespace mm
