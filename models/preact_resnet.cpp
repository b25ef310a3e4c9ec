#include "models/preact_resnet.h"

#include <memory>

namespace mm {

PreActBlock::PreActBlock(int in, int planes, int stride, NormKind norm, Rng& rng)
    : bn1(register_module("bn1", make_norm(norm, in))),
      conv1(register_module("conv1", std::make_unique<Conv2d>(in, planes, 3, stride, 1, false, rng))),
      bn2(register_module("bn2", make_norm(norm, planes))),
      conv2(register_module("conv2", std::make_unique<Conv2d>(planes, planes, 3, 1, 1, false, rng))) {
  if (stride != 1 || in != planes)
    shortcut = &register_module("shortcut.0", std::make_unique<Conv2d>(in, planes, 1, stride, 0, false, rng));
}

Tensor PreActBlock::forward(const Tensor& x) {
  Tensor o = bn1.forward_relu(x);
  Tensor sc = shortcut ? shortcut->forward(o) : o;
  o = conv1.forward(o);
  o = conv2.forward(bn2.forward_relu(o));
  return add(o, sc);
}

PreActResNetEncoder::PreActResNetEncoder(int w, NormKind norm, Rng& rng)
    : out_channels(8 * w),
      conv1(register_module("conv1", std::make_unique<Conv2d>(3, w, 3, 1, 1, false, rng))),
      bn1(register_module("bn1", make_norm(norm, w))) {
  int in = w;
  const int widths[4] = {w, 2 * w, 4 * w, 8 * w};
  for (int s = 0; s < 4; ++s) {
    std::vector<PreActBlock*> blocks;
    for (int b = 0; b < 2; ++b) {
      const int stride = (s > 0 && b == 0) ? 2 : 1;
      const std::string name = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      blocks.push_back(&register_module(name, std::make_unique<PreActBlock>(in, widths[s], stride, norm, rng)));
      in = widths[s];
    }
    stages.push_back(blocks);
  }
}

Tensor PreActResNetEncoder::run_stages(const Tensor& x, int from, int to) {
  MM_CHECK(0 <= from && from <= to && to <= 4, "preactresnet18: no stages from layer {} to {}", from, to);
  Tensor h = x;
  for (int s = from; s < to; ++s) {
    if (s == 0) h = bn1.forward_relu(conv1.forward(h));  // the stem belongs to stage 1
    for (PreActBlock* block : stages[s]) h = block->forward(h);
  }
  return h;
}

PreActResNet18::PreActResNet18(int width, int num_classes, NormKind norm, Rng& rng)
    : encoder(register_module("encoder", std::make_unique<PreActResNetEncoder>(width, norm, rng))),
      classifier_(register_module("classifier", std::make_unique<Linear>(8 * width, num_classes, rng))) {}

}  // namespace mm
