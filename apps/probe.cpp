// probe: exactly one training-mode forward and backward, every tensor out (docs/architecture.md "Interfaces").
// The bridge to any reference implementation: all files use PyTorch's names and layouts.
#include <cstdio>

#include "apps/flags.h"
#include "engine/autograd.h"
#include "engine/safetensors.h"
#include "layers/state_dict.h"
#include "mixup/method.h"
#include "models/network.h"

namespace mm {
namespace {

// The model's width from its weights: preactresnet18's stem has `width` output channels;
// wrn16_8's embedding has 64 * widen channels.
int infer_width(const std::string& model, const TensorFile& weights) {
  if (model == "preactresnet18") return static_cast<int>(weights.at("encoder.conv1.weight").dim(0));
  return static_cast<int>(weights.at("classifier.weight").dim(1) / 64);
}

int run(int argc, char** argv) {
  Flags flags("probe", "One training-mode forward and backward of a model on a batch; writes logits, loss, "
                       "gradients and BN state.");
  flags.add("model", "", "preactresnet18 or wrn16_8");
  flags.add("num-classes", "", "number of classes");
  flags.add("width", "", "model width (default: read from the weights)");
  flags.add("weights", "", "weights .safetensors (PyTorch names and layouts)");
  flags.add("batch", "", "batch .safetensors: images F32 [N,3,H,W], labels I64 [N], and the method's draws "
                         "(lam, perm, layer, box, Lambda; images2 for the teacher)");
  flags.add("out", "", "output .safetensors");
  flags.add("method", "erm", "erm | mixup | manifold | cutmix | multimix | dense-multimix");
  flags.add("teacher", "", "teacher weights .safetensors: enables distillation");
  flags.add("gamma", "0.5", "distillation weight of the label loss");
  flags.add("dense-resolution", "4", "dense MultiMix: R x R positions");
  flags.add("attention", "gap-relu", "dense MultiMix attention: gap-relu | gap-softmax | cam-relu | cam-softmax | uniform");
  flags.add("device", "cpu", "cpu or cuda");
  flags.add("dtype", "float32", "float32, or float64 (CPU only: exact to ~1e-10 against a float64 reference)");
  if (!flags.parse(argc, argv)) return 0;

  const std::string model = flags.required("model");
  MethodConfig config;
  config.method = parse_method(flags.str("method"));
  config.distill = flags.given("teacher");
  config.gamma = flags.number("gamma");
  config.dense_resolution = flags.integer("dense-resolution", 1, 1024);
  config.attention = parse_attention(flags.str("attention"));
  const Device device = parse_device(flags.str("device"));
  MM_CHECK(flags.str("dtype") == "float32" || flags.str("dtype") == "float64", "--dtype: float32 or float64, got '{}'",
           flags.str("dtype"));
  const DType dtype = flags.str("dtype") == "float64" ? DType::F64 : DType::F32;
  MM_CHECK(dtype == DType::F32 || device.is_cpu(), "--dtype float64 runs on the CPU only");
  const TensorFile weights = load_safetensors(flags.required("weights"));
  const TensorFile batch = load_safetensors(flags.required("batch"));
  const int width = flags.given("width") ? flags.integer("width", 1, 4096) : infer_width(model, weights);
  const int classes = flags.integer("num-classes", 1, 1 << 20);
  auto net = make_network(model, width, classes, 0);
  load_state_dict(*net, weights);
  std::unique_ptr<Network> teacher;
  if (config.distill) {
    teacher = make_network(model, width, classes, 0);
    load_state_dict(*teacher, load_safetensors(flags.str("teacher")));
  }

  const Tensor& images = batch.at("images");
  const Tensor& labels = batch.at("labels");
  MM_CHECK(images.ndim() == 4 && images.dim(1) == 3 && images.dtype() == DType::F32,
           "{}: images must be F32 [N, 3, H, W], got {} {}", batch.source, dtype_name(images.dtype()),
           shape_str(images.shape()));
  MM_CHECK(labels.dtype() == DType::I64 && labels.shape() == Shape{images.dim(0)}, "{}: labels must be I64 [{}]",
           batch.source, images.dim(0));
  Tensor images2 = config.distill ? nchw_to_nhwc(batch.at("images2")).to(dtype).to(device) : Tensor();
  for (Network* n : {net.get(), teacher.get()})
    if (n) n->to(dtype), n->to(device);

  net->train(true);
  StepResult step = mixed_loss(*net, teacher.get(), nchw_to_nhwc(images).to(dtype).to(device), images2, labels.to(device), classes,
                               config, read_draws(config.method, batch));
  backward(step.loss);

  Tensor logits = step.logits.to(cpu());
  if (logits.ndim() == 3) {
    // dense: [r, n, c] with r = R x R positions -> [n, c, R, R], the layout of a PyTorch 1x1-conv output
    logits = positions_to_nchw(logits, config.dense_resolution);
  }
  std::map<std::string, Tensor> out{{"logits", logits}, {"loss", step.loss}};
  for (const auto& nt : net->named_parameters())
    out["grad." + nt.name] = to_file_layout(nt.tensor.grad().to(cpu()), nt.layout);
  for (const auto& nt : net->named_buffers()) out["state." + nt.name] = nt.tensor.to(cpu());
  save_safetensors(flags.required("out"), out, {{"method", flags.str("method")}, {"model", model}});
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("probe", argc, argv, mm::run); }
