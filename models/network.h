#pragma once
// Network: an encoder f_theta (a stem and stages) and a linear classifier g_W (docs/math.md §1).
//
// "Interpolation layer" k (docs/math.md §1): k = 0 is the input, k = 1..num_stages() the output of stage k
// (stage 1 includes the stem). run_stages moves a hidden state from one layer to a later one, which
// is what manifold mixup needs. After the last stage, the head gives the final feature map
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
  Tensor run_stages(const Tensor& h, int from, int to) { return leave(stages(enter(h), from, to)); }
  // h at layer `from` (default: the input x [N, H, W, 3]) -> final feature map [N, h, w, d]: the
  // remaining stages and the head, in one pass of the compute dtype.
  Tensor features(const Tensor& h, int from = 0) { return leave(final_map(stages(enter(h), from, num_stages()))); }
  // x [N, H, W, 3] -> embedding [N, d] (global average of the final map)
  Tensor embed(const Tensor& x) { return global_avg_pool(features(x)); }
  // z [N, d] -> logits [N, classes] (through dropout when set_dropout gave it a rate)
  Tensor classify(const Tensor& z) { return classifier().forward(dropout_ ? dropout_->forward(z) : z); }
  // x [N, H, W, 3] -> logits [N, classes]
  Tensor forward(const Tensor& x) { return classify(embed(x)); }

  virtual Linear& classifier() = 0;
  virtual int embedding_dim() const = 0;

  // The dtype the encoder computes in: float32 (the default) or bfloat16 (--precision bf16). In
  // bfloat16 the activations and the convolutions' operands are bfloat16 (the layers cast their
  // float32 weights to their input's dtype, and the weights get float32 gradients through the
  // cast); the parameters, the BN statistics and everything after the final map (pooling, the
  // classifier, the mixing, the loss) stay float32. The methods above take and give float32 (or
  // float64, the gradient checker's) whatever the setting: the casts are theirs.
  void set_compute_dtype(DType dtype);
  DType compute_dtype() const { return compute_dtype_; }

  // Dropout with rate p on the embedding before the classifier (0: none, the paper's models). It
  // has no parameters: weights files do not change.
  void set_dropout(double p);
  // The stream of this step's dropout masks (the trainer passes a function of seed, epoch, step).
  void reseed_dropout(const Seed& seed) {
    if (dropout_) dropout_->reseed(seed);
  }

 protected:
  // The model's own code, run in the compute dtype: the stages between two layers, the head.
  virtual Tensor stages(const Tensor& h, int from, int to) = 0;
  virtual Tensor final_map(const Tensor& h) = 0;

 private:
  Tensor enter(const Tensor& h) const { return h.dtype() == DType::F32 ? cast(h, compute_dtype_) : h; }
  static Tensor leave(const Tensor& h) { return cast(h, mm::compute_dtype(h.dtype())); }

  Dropout* dropout_ = nullptr;
  DType compute_dtype_ = DType::F32;
};

// name: "preactresnet18" (width = channels of stage 1, default 64) or "wrn16_8" (width = widen
// factor, default 8). width <= 0 picks the default. norm: the normalisation layers (batch norm in
// the paper's models). Throws on an unknown name.
std::unique_ptr<Network> make_network(const std::string& name, int width, int num_classes, uint64_t seed,
                                      NormKind norm = NormKind::Batch);
int default_width(const std::string& name);

}  // namespace mm
