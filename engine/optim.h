#pragma once
// SGD with momentum, weight decay and optional Nesterov (PyTorch's formulation; math::sgd_update),
// and the learning-rate schedules of docs/math.md §2.
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mm {

struct SgdOptions {
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-4;
  bool nesterov = false;
};

class Sgd {
 public:
  // params: the trainable tensors (handles; updated in place). Their .grad() is read by step().
  Sgd(std::vector<Tensor> params, SgdOptions options);
  // One update of every parameter that has a gradient, with learning rate lr.
  void step(double lr);
  void zero_grad();
  // Momentum buffers, one per parameter (undefined until the first step touches it). For checkpoints.
  std::vector<Tensor>& momentum_buffers() { return buffers_; }
  const std::vector<Tensor>& momentum_buffers() const { return buffers_; }
  const SgdOptions& options() const { return options_; }

 private:
  std::vector<Tensor> params_;
  std::vector<Tensor> buffers_;
  SgdOptions options_;
};

// Multi-step: lr = base * gamma^(number of milestones <= epoch). Epochs count from 0.
double multistep_lr(double base, const std::vector<int>& milestones, double gamma, int epoch);
// Cosine annealing from base to 0 over total_epochs.
double cosine_lr(double base, int total_epochs, int epoch);
// docs/math.md §2 project choice: without explicit milestones, drops at 25 %, 50 %, 75 % of the epochs.
std::vector<int> default_milestones(int epochs);

}  // namespace mm
