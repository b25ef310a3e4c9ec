#pragma once
// The per-row math of softmax cross-entropy, written once for the CPU loops and the CUDA kernels.
#include <cmath>
#include <cstdint>
#include <cstring>

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
// The CPU's row functions below take the row's sums in interleaved partial sums; the GPU takes them
// with a warp per row (engine/ops/loss.cu). Both end in these formulas:
//   xent_from_sums: the loss from sum_exp = sum_c exp(z_c - zmax), sum_t = sum_c t_c and
//   gap = sum_c t_c (zmax - z_c); xent_gradient: the gradient at one logit from
//   e = exp(z_c - zmax) and scale = sum_t / sum_exp; for a hard label, sum_t = 1, gap = zmax - z_label
//   and xent_label_gradient.
template <class T> MM_HD T xent_from_sums(T sum_exp, T sum_t, T gap) { return log(sum_exp) * sum_t + gap; }
template <class T> MM_HD T xent_gradient(T e, T scale, T target) { return e * scale - target; }
template <class T> MM_HD T xent_label_gradient(T e, T sum_exp, bool is_label) { return e / sum_exp - (is_label ? T(1) : T(0)); }
template <class T> MM_HD T softmax_entry(T e, T sum_exp) { return e / sum_exp; }

// ---- The CPU's rows (the GPU takes a row with a warp, engine/ops/loss.cu) ----
// Written so that the compiler vectorises them: each sum over a row runs in kRowLanes interleaved
// partial sums (entry c into partial c % kRowLanes, added up in a fixed order at the end), where one
// running sum would chain every addition behind the last; and float rows take row_exp below instead
// of the C library's scalar expf. Dense MultiMix evaluates 16 000 rows of 100 classes a step, for the
// student's loss, its gradient and the teacher's softmax: these passes were 4x slower before.
constexpr int kRowLanes = 8;

// sum over c < n of term(c), in kRowLanes partial sums.
template <class T, class Term>
T row_sum(int n, Term term) {
  T partial[kRowLanes] = {};
  int c = 0;
  for (; c + kRowLanes <= n; c += kRowLanes)
    for (int k = 0; k < kRowLanes; ++k) partial[k] += term(c + k);
  for (int k = 0; c + k < n; ++k) partial[k] += term(c + k);
  T total = 0;
  for (int k = 0; k < kRowLanes; ++k) total += partial[k];
  return total;
}
// max over c < n of z[c] (n >= 1), in kRowLanes partial maxima.
template <class T>
T row_max(const T* z, int n) {
  T partial[kRowLanes];
  for (int k = 0; k < kRowLanes; ++k) partial[k] = z[0];
  int c = 0;
  for (; c + kRowLanes <= n; c += kRowLanes)
    for (int k = 0; k < kRowLanes; ++k) partial[k] = z[c + k] > partial[k] ? z[c + k] : partial[k];
  for (int k = 0; c + k < n; ++k) partial[k] = z[c + k] > partial[k] ? z[c + k] : partial[k];
  T result = partial[0];
  for (int k = 1; k < kRowLanes; ++k) result = partial[k] > result ? partial[k] : result;
  return result;
}

// exp(x) in float arithmetic the compiler can vectorise, for x <= 0 (a logit minus its row's max):
// x = k ln 2 + r with k an integer and |r| <= ln(2) / 2, exp(r) by its Taylor series to r^7 / 7!
// (the first term left out, r^8 / 8!, is below 6e-9), times 2^k built in the exponent bits. ln 2 is
// split in two (Cody and Waite): k * 0.693359375 is exact, so r keeps its low bits. Relative error
// below 1e-7 (about one float ulp; checked against exp in double, tests/test_tensor.cpp). Arguments below
// -87.3 give exp(-87.3) ~ 1e-38 instead of a subnormal or 0: a row's sum is at least 1. NaN stays NaN.
// The GPU's warp-per-row kernels take it too (engine/ops/loss.cu), so both devices share the formula
// (nvcc fuses the series' multiply-adds, the CPU build does not: they can differ in the last bit).
MM_HD float row_exp(float x) {
  x = x < -87.3f ? -87.3f : x;
  // 1.5 * 2^23, whose float spacing is 1: adding it rounds x / ln 2 to the integer k, which then sits
  // in the sum's low mantissa bits; taking it away again gives k as a float
  const float round_shift = 12582912.0f;
  const uint32_t round_shift_bits = 0x4B400000u;
  const float shifted = x * 1.44269504f + round_shift, k = shifted - round_shift;
  const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  float series = 1.0f / 5040;  // Horner: ((1/7! r + 1/6!) r + ... + 1) r + 1
  series = series * r + 1.0f / 720;
  series = series * r + 1.0f / 120;
  series = series * r + 1.0f / 24;
  series = series * r + 1.0f / 6;
  series = series * r + 0.5f;
  series = series * r + 1.0f;
  series = series * r + 1.0f;
  // 2^k as a float, -126 <= k <= 0: exponent field k + 127, k read from the bits (converting the float
  // k to an integer would be undefined for a NaN x; unsigned arithmetic is defined for any bits)
  uint32_t shifted_bits;
  memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
  const uint32_t exponent_bits = (shifted_bits - round_shift_bits + 127u) << 23;
  float two_to_k;
  memcpy(&two_to_k, &exponent_bits, sizeof two_to_k);
  return series * two_to_k;
}
inline double row_exp(double x) { return exp(x); }  // float64 rows (the gradient checker's) stay exact

// The loss of one row; writes its gradient into grad when grad != nullptr (grad first holds
// exp(z_c - zmax), so each logit costs one exponential).
template <class T>
T softmax_xent_row(const T* z, const T* target, int classes, T* grad) {
  const T zmax = row_max(z, classes);
  T sum_exp;
  if (grad) {
    for (int c = 0; c < classes; ++c) grad[c] = row_exp(z[c] - zmax);
    sum_exp = row_sum<T>(classes, [&](int c) { return grad[c]; });
  } else {
    sum_exp = row_sum<T>(classes, [&](int c) { return row_exp(z[c] - zmax); });
  }
  const T sum_t = row_sum<T>(classes, [&](int c) { return target[c]; });
  const T gap = row_sum<T>(classes, [&](int c) { return target[c] * (zmax - z[c]); });
  if (grad) {
    const T scale = sum_t / sum_exp;
    for (int c = 0; c < classes; ++c) grad[c] = xent_gradient(grad[c], scale, target[c]);
  }
  return xent_from_sums(sum_exp, sum_t, gap);
}
// The same with a hard label: the target is onehot(label).
template <class T>
T softmax_xent_label_row(const T* z, long long label, int classes, T* grad) {
  const T zmax = row_max(z, classes);
  T sum_exp;
  if (grad) {
    for (int c = 0; c < classes; ++c) grad[c] = row_exp(z[c] - zmax);
    sum_exp = row_sum<T>(classes, [&](int c) { return grad[c]; });
    for (int c = 0; c < classes; ++c) grad[c] = xent_label_gradient(grad[c], sum_exp, c == label);
  } else {
    sum_exp = row_sum<T>(classes, [&](int c) { return row_exp(z[c] - zmax); });
  }
  return xent_from_sums(sum_exp, T(1), zmax - z[label]);
}

// Numerically stable softmax of one row: p_c = exp(z_c - max z) / sum.
template <class T>
void softmax_row(const T* z, int classes, T* p) {
  const T zmax = row_max(z, classes);
  for (int c = 0; c < classes; ++c) p[c] = row_exp(z[c] - zmax);
  const T total = row_sum<T>(classes, [&](int c) { return p[c]; });
  for (int c = 0; c < classes; ++c) p[c] = softmax_entry(p[c], total);
}

}  // namespace mm::math
