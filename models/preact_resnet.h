#pragma once
// PreAct-ResNet-18 exactly as docs/math.md §1 ("preactresnet18").
//   stem: conv3x3(3 -> w, no bias) -> BN -> ReLU
//   stages 1..4: two PreActBlocks each, widths w, 2w, 4w, 8w; first block of stages 2-4 has stride 2
//   head: none (the embedding is the global average of the 8w x 4 x 4 map), classifier Linear(8w -> c)
#include <vector>

#include "engine/rng.h"
#include "layers/norm.h"
#include "layers/conv2d.h"
#include "models/network.h"

namespace mm {

// o = relu(bn1(x)); sc = proj(o) if (stride != 1 or in != planes) else o; o = conv1(o);
// o = conv2(relu(bn2(o))); return o + sc. The identity path carries the *activated* o (docs/math.md §1).
class PreActBlock : public Module {
 public:
  PreActBlock(int in, int planes, int stride, NormKind norm, Rng& rng);
  Tensor forward(const Tensor& x);  // [N, H, W, in] -> [N, H/stride, W/stride, planes]

 private:
  Norm& bn1;
  Conv2d& conv1;
  Norm& bn2;
  Conv2d& conv2;
  Conv2d* shortcut = nullptr;  // "shortcut.0": conv1x1(in -> planes, stride, no bias)
};

class PreActResNetEncoder : public Module {
 public:
  PreActResNetEncoder(int width, NormKind norm, Rng& rng);
  Tensor run_stages(const Tensor& h, int from, int to);
  int out_channels;

 private:
  Conv2d& conv1;
  Norm& bn1;
  std::vector<std::vector<PreActBlock*>> stages;  // layer1..layer4
};

class PreActResNet18 : public Network {
 public:
  PreActResNet18(int width, int num_classes, NormKind norm, Rng& rng);
  int num_stages() const override { return 4; }
  Linear& classifier() override { return classifier_; }
  int embedding_dim() const override { return encoder.out_channels; }

 protected:
  Tensor stages(const Tensor& h, int from, int to) override { return encoder.run_stages(h, from, to); }
  Tensor final_map(const Tensor& h) override { return h; }

 private:
  PreActResNetEncoder& encoder;
  Linear& classifier_;
};

}  // namespace mm
