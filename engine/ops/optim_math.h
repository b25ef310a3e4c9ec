#pragma once
// The per-element math of the parameter updates (the SGD step and the EMA teacher), written once
// for the CPU loops and the CUDA kernels.
#include "engine/hd.h"

namespace mm::math {

// SGD with momentum and weight decay, PyTorch's formulation (dampening 0):
//   d = g + wd * p;  buf = first ? d : momentum * buf + d;  step = nesterov ? d + momentum * buf : buf
//   p -= lr * step
template <class T>
MM_HD void sgd_update(T& p, T g, T& buf, T lr, T momentum, T weight_decay, bool nesterov, bool first) {
  const T d = g + weight_decay * p;
  buf = first ? d : momentum * buf + d;
  const T step = nesterov ? d + momentum * buf : buf;
  p -= lr * step;
}

// Exponential moving average (the distillation teacher): t = beta * t + (1 - beta) * s.
template <class T> MM_HD T ema(T teacher, T student, T beta) { return beta * teacher + (T(1) - beta) * student; }

}  // namespace mm::math
