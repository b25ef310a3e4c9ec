#include "engine/optim.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/ops/optim_kernels.h"

namespace mm {

Sgd::Sgd(std::vector<Tensor> params, SgdOptions options)
    : params_(std::move(params)), buffers_(params_.size()), options_(options) {}

void Sgd::step(double lr) {
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = params_[k];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const Device device = common_device({&p, &g}, "sgd");
    const bool first = !buffers_[k].defined();
    if (first) buffers_[k] = Tensor::empty(p.shape(), p.dtype(), device);
    kernels::sgd_update(p, g, buffers_[k], lr, options_.momentum, options_.weight_decay, options_.nesterov, first);
  }
}

void Sgd::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

double multistep_lr(double base, const std::vector<int>& milestones, double gamma, int epoch) {
  double lr = base;
  for (int m : milestones)
    if (epoch >= m) lr *= gamma;
  return lr;
}

double cosine_lr(double base, int total_epochs, int epoch) {
  return 0.5 * base * (1.0 + std::cos(M_PI * epoch / std::max(total_epochs, 1)));
}

std::vector<int> default_milestones(int epochs) {
  std::vector<int> out;
  for (double q : {0.25, 0.5, 0.75}) out.push_back(std::max(1, static_cast<int>(std::lround(q * epochs))));
  return out;
}

}  // namespace mm
