// probe: exactly one training-mode forward and backward, every tensor out (DESIGN.md "Interfaces").
// The bridge to any reference implementation: all files use PyTorch's names and layouts.
#include <cstdio>

#include "apps/flags.h"
#include "engine/autograd.h"
#include "engine/safetensors.h"
#include "layers/state_dict.h"
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
  flags.add("batch", "", "batch .safetensors: images F32 [N,3,H,W], labels I64 [N], and the method's draws");
  flags.add("out", "", "output .safetensors");
  flags.add("method", "erm", "erm");
  flags.add("device", "cpu", "cpu or cuda");
  if (!flags.parse(argc, argv)) return 0;

  const std::string model = flags.required("model"), method = flags.str("method");
  MM_CHECK(method == "erm", "--method {}: this build's probe supports erm only", method);
  const Device device = parse_device(flags.str("device"));
  MM_CHECK(device.is_cpu(), "--device {}: the ops of this build run on the CPU only", device.str());
  const TensorFile weights = load_safetensors(flags.required("weights"));
  const TensorFile batch = load_safetensors(flags.required("batch"));
  const int width = flags.given("width") ? static_cast<int>(flags.integer("width")) : infer_width(model, weights);
  auto net = make_network(model, width, static_cast<int>(flags.integer("num-classes")), 0);
  load_state_dict(*net, weights);

  const Tensor& images = batch.at("images");
  const Tensor& labels = batch.at("labels");
  MM_CHECK(images.ndim() == 4 && images.dim(1) == 3 && images.dtype() == DType::F32,
           "{}: images must be F32 [N, 3, H, W], got {} {}", batch.source, dtype_name(images.dtype()),
           shape_str(images.shape()));
  MM_CHECK(labels.dtype() == DType::I64 && labels.shape() == Shape{images.dim(0)}, "{}: labels must be I64 [{}]",
           batch.source, images.dim(0));

  net->train(true);
  Tensor logits = net->forward(nchw_to_nhwc(images));
  Tensor loss = cross_entropy(logits, labels);
  backward(loss);

  std::map<std::string, Tensor> out{{"logits", logits}, {"loss", loss}};
  for (const auto& nt : net->named_parameters()) out["grad." + nt.name] = to_file_layout(nt.tensor.grad(), nt.layout);
  for (const auto& nt : net->named_buffers()) out["state." + nt.name] = nt.tensor;
  save_safetensors(flags.required("out"), out, {{"method", method}, {"model", model}});
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) {
  try {
    return mm::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "probe: error: %s\n", e.what());
    return 1;
  }
}
