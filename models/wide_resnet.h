#pragma once
// WRN-16-8 exactly as docs/math.md §1 ("wrn16_8"), widen factor k (default 8):
//   conv1: conv3x3(3 -> 16, bias); stages 1..3: two WideBlocks each, widths 16k, 32k, 64k,
//   strides 1, 2, 2; head: BN(64k, running-stat momentum 0.9) -> ReLU; embedding = global average
//   of the 8 x 8 map; classifier Linear(64k -> c). No dropout.
#include <vector>

#include "engine/rng.h"
#include "layers/norm.h"
#include "layers/conv2d.h"
#include "models/network.h"

namespace mm {

// o = conv1(relu(bn1(x))) (3x3, stride 1, bias); o = conv2(relu(bn2(o))) (3x3, stride s, bias);
// return o + sc(x), sc = conv1x1(in -> planes, stride s, bias) when stride != 1 or in != planes,
// else the raw x.
class WideBlock : public Module {
 public:
  WideBlock(int in, int planes, int stride, NormKind norm, Rng& rng);
  Tensor forward(const Tensor& x);

 private:
  Norm& bn1;
  Conv2d& conv1;
  Norm& bn2;
  Conv2d& conv2;
  Conv2d* shortcut = nullptr;  // "shortcut.0"
};

class WideResNetEncoder : public Module {
 public:
  WideResNetEncoder(int widen, NormKind norm, Rng& rng);
  Tensor run_stages(const Tensor& h, int from, int to);
  Tensor head(const Tensor& h) { return bn1->forward_relu(h); }
  int out_channels;

 private:
  Conv2d& conv1;
  std::vector<std::vector<WideBlock*>> stages;  // layer1..layer3
  Norm* bn1;                              // the head's BN (momentum 0.9)
};

class WideResNet16 : public Network {
 public:
  WideResNet16(int widen, int num_classes, NormKind norm, Rng& rng);
  int num_stages() const override { return 3; }
  Linear& classifier() override { return classifier_; }
  int embedding_dim() const override { return encoder.out_channels; }

 protected:
  Tensor stages(const Tensor& h, int from, int to) override { return encoder.run_stages(h, from, to); }
  Tensor final_map(const Tensor& h) override { return encoder.head(h); }

 private:
  WideResNetEncoder& encoder;
  Linear& classifier_;
};

}  // namespace mm
