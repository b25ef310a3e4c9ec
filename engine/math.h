#pragma once
// The per-element and per-row arithmetic of the engine, written once. The CPU loops
// (engine/*.cpp) and the CUDA kernels (engine/cuda/*.cu) both call these functions, so the CPU
// tests exercise the very formulas the GPU runs.
#include <cmath>

#include "engine/hd.h"

namespace mm::math {

using std::exp;
using std::log;
using std::sqrt;

// Average pooling: the mean of a window of `count` values, and each value's share of the window's
// gradient, dx = dy / count.
template <class T> MM_HD T window_mean(T total, int count) { return total / T(count); }
template <class T> MM_HD T window_share(T dy, int count) { return dy / T(count); }

// Entry c of the one-hot row of `label` among `classes`. A label outside [0, classes) gives NaN
// (the GPU cannot throw; a NaN row makes the loss NaN, which the training loop reports).
template <class T> MM_HD T one_hot_entry(long long label, long long c, long long classes) {
  if (label < 0 || label >= classes) return T(NAN);
  return label == c ? T(1) : T(0);
}

// Numerically stable softmax cross-entropy of one row of `classes` logits against a target
// distribution (soft targets; a hard label is a one-hot row):
//   loss = -sum_c t_c log softmax(z)_c = logsumexp(z) * sum_c t_c - sum_c t_c z_c
// Writes d loss / d z_c = softmax(z)_c * sum_c t_c - t_c into grad (when grad != nullptr).
template <class T>
MM_HD T softmax_xent_row(const T* z, const T* target, int classes, T* grad) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T sum_exp = 0, sum_t = 0, dot = 0;
  for (int c = 0; c < classes; ++c) {
    sum_exp += exp(z[c] - zmax);
    sum_t += target[c];
    dot += target[c] * z[c];
  }
  const T lse = zmax + log(sum_exp);
  if (grad)
    for (int c = 0; c < classes; ++c) grad[c] = exp(z[c] - lse) * sum_t - target[c];
  return lse * sum_t - dot;
}
// The same with a hard label: the target is onehot(label).
template <class T>
MM_HD T softmax_xent_label_row(const T* z, long long label, int classes, T* grad) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T sum_exp = 0;
  for (int c = 0; c < classes; ++c) sum_exp += exp(z[c] - zmax);
  const T lse = zmax + log(sum_exp);
  if (grad)
    for (int c = 0; c < classes; ++c) grad[c] = exp(z[c] - lse) - (c == label ? T(1) : T(0));
  return lse - z[label];
}

// Numerically stable softmax of one row: p_c = exp(z_c - max z) / sum.
template <class T>
MM_HD void softmax_row(const T* z, int classes, T* p) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T total = 0;
  for (int c = 0; c < classes; ++c) total += p[c] = exp(z[c] - zmax);
  for (int c = 0; c < classes; ++c) p[c] /= total;
}

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
