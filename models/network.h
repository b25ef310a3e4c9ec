#pragma once
// Network: an encoder f_theta (a stem and stages) and a linear classifier g_W (docs/math.md §1).
//
// "Interpolation layer" k (docs/math.md §1): k = 0 is the input, k = 1..num_stages() the output of stage k
// (stage 1 includes the stem). run_stages moves a hidden state from one layer to a later one, which
// is what manifold mixup needs. After the last stage, head() gives the final feature map
// (WRN: BN + ReLU; PreAct-ResNet: identity), whose global average is the embedding.
#include <memory>
#include <string>

#include "engine/ops.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/module.h"

namespace mm {

class Network : public Module {
 public:
  virtual int num_stages() const = 0;
  // h at interpolation layer `from` -> h at layer `to`, 0 <= from <= to <= num_stages().
  // x: [N, H, W, 3] NHWC at layer 0.
  virtual Tensor run_stages(const Tensor& h, int from, int to) = 0;
  // Output of the last stage -> final feature map [N, h, w, d].
  virtual Tensor head(const Tensor& h) = 0;

  // x [N, H, W, 3] -> final feature map [N, h, w, d]
  Tensor features(const Tensor& x) { return head(run_stages(x, 0, num_stages())); }
  // x [N, H, W, 3] -> embedding [N, d] (global average of the final map)
  Tensor embed(const Tensor& x) { return global_avg_pool(features(x)); }
  // z [N, d] -> logits [N, classes] (through dropout when set_dropout gave it a rate)
  Tensor classify(const Tensor& z) { return classifier().forward(dropout_ ? dropout_->forward(z) : z); }
  // x [N, H, W, 3] -> logits [N, classes]
  Tensor forward(const Tensor& x) { return classify(embed(x)); }

  virtual Linear& classifier() = 0;
  virtual int embedding_dim() const = 0;

  // Dropout with rate p on the embedding before the classifier (0: none, the paper's models). It
  // has no parameters: weights files do not change.
  void set_dropout(double p);
  // The stream of this step's dropout masks (the trainer passes a function of seed, epoch, step).
  void reseed_dropout(const Seed& seed) {
    if (dropout_) dropout_->reseed(seed);
  }

 private:
  Dropout* dropout_ = nullptr;
};

// name: "preactresnet18" (width = channels of stage 1, default 64) or "wrn16_8" (width = widen
// factor, default 8). width <= 0 picks the default. norm: the normalisation layers (batch norm in
// the paper's models). Throws on an unknown name.
std::unique_ptr<Network> make_network(const std::string& name, int width, int num_classes, uint64_t seed,
                                      NormKind norm = NormKind::Batch);
int default_width(const std::string& name);

}  // namespace mm
