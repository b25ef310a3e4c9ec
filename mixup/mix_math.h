#pragma once
// Per-element arithmetic of the mixing ops, shared by the CPU loops and the CUDA kernels.
#include <cmath>

#include "engine/hd.h"

namespace mm::math {

using std::exp;

// Linear interpolation of two examples (input/manifold mixup): lam * a + (1 - lam) * b. Its
// backward is the same interpolation of gradients: row i of x receives lam dy_i + (1 - lam) dy_k
// from the k with perm(k) = i, that is lerp(dy_i, dy_k, lam).
template <class T> MM_HD T lerp(T a, T b, T lam) { return lam * a + (T(1) - lam) * b; }

// True when pixel (y, x) lies in the half-open CutMix box [y0, y1) x [x0, x1).
MM_HD bool in_box(long long y, long long x, const long long* box) {
  return y >= box[0] && y < box[2] && x >= box[1] && x < box[3];
}

// The dense MultiMix attention of one example i with r positions of d channels, z_i [r, d]
// (docs/math.md §3). GAP query: u_e = (1/r) sum_j z_je; score of position j: q_j = z_j . u.
template <class T> MM_HD T gap_query(const T* z_i, int r, int d, int e) {
  T total = 0;
  for (int j = 0; j < r; ++j) total += z_i[j * d + e];
  return total / T(r);
}
template <class T> MM_HD T attention_score(const T* z_ij, const T* u, int d) {
  T dot = 0;
  for (int e = 0; e < d; ++e) dot += z_ij[e] * u[e];
  return dot;
}
template <class T> MM_HD void normalise_uniform(int r, T* a) {
  for (int j = 0; j < r; ++j) a[j] = T(1) / T(r);
}

// Attention normalisation for dense MultiMix (docs/math.md §3), one example's r scores:
// "relu": a_j = relu(q_j) / sum_j relu(q_j), uniform 1/r when every relu(q_j) is 0 (project choice);
// "softmax": a_j = exp(q_j - max q) / sum.
template <class T> MM_HD void normalise_relu(const T* q, int r, T* a) {
  T total = 0;
  for (int j = 0; j < r; ++j) total += q[j] > T(0) ? q[j] : T(0);
  for (int j = 0; j < r; ++j) a[j] = total > T(0) ? (q[j] > T(0) ? q[j] : T(0)) / total : T(1) / T(r);
}
template <class T> MM_HD void normalise_softmax(const T* q, int r, T* a) {
  T qmax = q[0];
  for (int j = 1; j < r; ++j) qmax = q[j] > qmax ? q[j] : qmax;
  T total = 0;
  for (int j = 0; j < r; ++j) total += a[j] = exp(q[j] - qmax);
  for (int j = 0; j < r; ++j) a[j] /= total;
}

// Dense MultiMix weights of one position j and one column k: with M_ik = a_ij Lambda_ik and
// s_k = sum_i M_ik (over i in order), Mtilde_ik = M_ik / s_k (the column is 0 when s_k = 0).
template <class T> MM_HD T dense_mass(T attention, T lambda) { return attention * lambda; }
template <class T> MM_HD T dense_weight(T mass, T s) { return s > T(0) ? mass / s : T(0); }
// Column k whole (the GPU: a thread per column): writes column k of Mtilde (stride n between
// examples) and returns s_k. The CPU takes a position's rows in turn instead (the same sums).
template <class T> MM_HD T dense_column(const T* attention_j, int attention_stride, const T* lambda_col, int m, int n,
                                        T* mtilde_col) {
  T s = 0;
  for (int i = 0; i < m; ++i) s += dense_mass(attention_j[i * attention_stride], lambda_col[i * n]);
  for (int i = 0; i < m; ++i) mtilde_col[i * n] = dense_weight(dense_mass(attention_j[i * attention_stride], lambda_col[i * n]), s);
  return s;
}

// One row of mixed one-hot targets, Ytilde = W^T Y with Y one-hot (MultiMix's targets, per position
// for dense MultiMix): row k is sum_i w_ik onehot(y_i), so example i's weight lands on its class.
// w_col is column k of W (stride n between examples). A label outside [0, classes) makes the row
// NaN (the GPU cannot throw; the host checks labels before).
template <class I, class T>
MM_HD void mixed_label_row(const I* labels, const T* w_col, int m, int n, int classes, T* row) {
  for (int c = 0; c < classes; ++c) row[c] = T(0);
  for (int i = 0; i < m; ++i) {
    const I y = labels[i];
    if (y < 0 || y >= classes) {
      for (int c = 0; c < classes; ++c) row[c] = T(NAN);
      return;
    }
    row[y] += w_col[i * n];
  }
}

// The loss weights of one position j of the dense soft cross-entropy (docs/math.md §3): row k gets
// s_jk / (r sum_k s_jk), and every row 0 when the position has no weight at all.
template <class S, class C> MM_HD void dense_row_coefficients(const S* s_j, int n, int r, C* coef_j) {
  double total = 0;
  for (int k = 0; k < n; ++k) total += s_j[k];
  for (int k = 0; k < n; ++k) coef_j[k] = C(total > 0 ? s_j[k] / (r * total) : 0.0);
}

}  // namespace mm::math
