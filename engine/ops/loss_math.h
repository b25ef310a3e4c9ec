#pragma once
// The per-row math of softmax cross-entropy, written once for the CPU loops and the CUDA kernels.
#include <cmath>

#include "engine/hd.h"

namespace mm::math {

using std::exp;
using std::log;

// Entry c of the one-hot row of `label` among `classes`. A label outside [0, classes) gives NaN
// (the GPU cannot throw; a NaN row makes the loss NaN, which the training loop reports).
template <class T> MM_HD T one_hot_entry(long long label, long long c, long long classes) {
  if (label < 0 || label >= classes) return T(NAN);
  return label == c ? T(1) : T(0);
}

// Numerically stable softmax cross-entropy of one row of `classes` logits against a target
// distribution (soft targets; a hard label is a one-hot row):
//   loss = -sum_c t_c log softmax(z)_c = log(sum_c exp(z_c - zmax)) sum_c t_c + sum_c t_c (zmax - z_c)
// (two terms >= 0 for targets >= 0: nothing cancels, even in float with logits of 1000).
// d loss / d z_c = softmax(z)_c * sum_c t_c - t_c.
// The row functions below take the row's sums in order; the GPU takes them with a warp per row
// (engine/ops/loss.cu). Both end in these formulas:
//   xent_from_sums: the loss from sum_exp = sum_c exp(z_c - zmax), sum_t = sum_c t_c and
//   gap = sum_c t_c (zmax - z_c); xent_gradient: the gradient at one logit from
//   e = exp(z_c - zmax) and scale = sum_t / sum_exp; for a hard label, sum_t = 1, gap = zmax - z_label
//   and xent_label_gradient.
template <class T> MM_HD T xent_from_sums(T sum_exp, T sum_t, T gap) { return log(sum_exp) * sum_t + gap; }
template <class T> MM_HD T xent_gradient(T e, T scale, T target) { return e * scale - target; }
template <class T> MM_HD T xent_label_gradient(T e, T sum_exp, bool is_label) { return e / sum_exp - (is_label ? T(1) : T(0)); }
template <class T> MM_HD T softmax_entry(T e, T sum_exp) { return e / sum_exp; }

// The loss of one row; writes its gradient into grad when grad != nullptr (grad first holds
// exp(z_c - zmax), so each logit costs one exponential).
template <class T>
MM_HD T softmax_xent_row(const T* z, const T* target, int classes, T* grad) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T sum_exp = 0, sum_t = 0, gap = 0;
  for (int c = 0; c < classes; ++c) {
    const T e = exp(z[c] - zmax);
    if (grad) grad[c] = e;
    sum_exp += e;
    sum_t += target[c];
    gap += target[c] * (zmax - z[c]);
  }
  if (grad) {
    const T scale = sum_t / sum_exp;
    for (int c = 0; c < classes; ++c) grad[c] = xent_gradient(grad[c], scale, target[c]);
  }
  return xent_from_sums(sum_exp, sum_t, gap);
}
// The same with a hard label: the target is onehot(label).
template <class T>
MM_HD T softmax_xent_label_row(const T* z, long long label, int classes, T* grad) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T sum_exp = 0;
  for (int c = 0; c < classes; ++c) {
    const T e = exp(z[c] - zmax);
    if (grad) grad[c] = e;
    sum_exp += e;
  }
  if (grad)
    for (int c = 0; c < classes; ++c) grad[c] = xent_label_gradient(grad[c], sum_exp, c == label);
  return xent_from_sums(sum_exp, T(1), zmax - z[label]);
}

// Numerically stable softmax of one row: p_c = exp(z_c - max z) / sum.
template <class T>
MM_HD void softmax_row(const T* z, int classes, T* p) {
  T zmax = z[0];
  for (int c = 1; c < classes; ++c) zmax = z[c] > zmax ? z[c] : zmax;
  T total = 0;
  for (int c = 0; c < classes; ++c) total += p[c] = exp(z[c] - zmax);
  for (int c = 0; c < classes; ++c) p[c] = softmax_entry(p[c], total);
}

}  // namespace mm::math
