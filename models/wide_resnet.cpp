#include "models/wide_resnet.h"

#include <memory>

namespace mm {

WideBlock::WideBlock(int in, int planes, int stride, NormKind norm, Rng& rng)
    : bn1(register_module("bn1", make_norm(norm, in))),
      conv1(register_module("conv1", std::make_unique<Conv2d>(in, planes, 3, 1, 1, true, rng))),
      bn2(register_module("bn2", make_norm(norm, planes))),
      conv2(register_module("conv2", std::make_unique<Conv2d>(planes, planes, 3, stride, 1, true, rng))) {
  if (stride != 1 || in != planes)
    shortcut = &register_module("shortcut.0", std::make_unique<Conv2d>(in, planes, 1, stride, 0, true, rng));
}

Tensor WideBlock::forward(const Tensor& x) {
  Tensor o = conv1.forward(bn1.forward_relu(x));
  o = conv2.forward(bn2.forward_relu(o));
  return add(o, shortcut ? shortcut->forward(x) : x);
}

WideResNetEncoder::WideResNetEncoder(int k, NormKind norm, Rng& rng)
    : out_channels(64 * k), conv1(register_module("conv1", std::make_unique<Conv2d>(3, 16, 3, 1, 1, true, rng))) {
  int in = 16;
  const int widths[3] = {16 * k, 32 * k, 64 * k}, strides[3] = {1, 2, 2};
  for (int s = 0; s < 3; ++s) {
    std::vector<WideBlock*> blocks;
    for (int b = 0; b < 2; ++b) {
      const std::string name = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      blocks.push_back(&register_module(name, std::make_unique<WideBlock>(in, widths[s], b == 0 ? strides[s] : 1, norm, rng)));
      in = widths[s];
    }
    stages.push_back(blocks);
  }
  bn1 = &register_module("bn1", make_norm(norm, 64 * k, /*momentum=*/0.9));
}

Tensor WideResNetEncoder::run_stages(const Tensor& x, int from, int to) {
  MM_CHECK(0 <= from && from <= to && to <= 3, "wrn16_8: no stages from layer {} to {}", from, to);
  Tensor h = x;
  for (int s = from; s < to; ++s) {
    if (s == 0) h = conv1.forward(h);  // the stem belongs to stage 1
    for (WideBlock* block : stages[s]) h = block->forward(h);
  }
  return h;
}

WideResNet16::WideResNet16(int widen, int num_classes, NormKind norm, Rng& rng)
    : encoder(register_module("encoder", std::make_unique<WideResNetEncoder>(widen, norm, rng))),
      classifier_(register_module("classifier", std::make_unique<Linear>(64 * widen, num_classes, rng))) {}

}  // namespace mm
