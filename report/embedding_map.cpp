#include "report/embedding_map.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/rng.h"

namespace mm {
namespace {

// The rows of a [N, d] tensor as doubles on the host.
std::vector<double> rows_of(const Tensor& x, int64_t& N, int64_t& d) {
  MM_CHECK(x.ndim() == 2 && x.dim(0) >= 2, "embedding map: expected [N, d] with N >= 2, got {}", shape_str(x.shape()));
  N = x.dim(0), d = x.dim(1);
  return x.to(cpu()).to_doubles();
}

}  // namespace

std::vector<double> pca_2d(const Tensor& x) {
  int64_t N, d;
  std::vector<double> a = rows_of(x, N, d);
  for (int64_t k = 0; k < d; ++k) {  // centre the columns
    double mean = 0;
    for (int64_t i = 0; i < N; ++i) mean += a[i * d + k];
    mean /= static_cast<double>(N);
    for (int64_t i = 0; i < N; ++i) a[i * d + k] -= mean;
  }
  std::vector<double> cov(d * d, 0.0);  // A^T A (the scale does not change the directions)
  for (int64_t i = 0; i < N; ++i)
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = 0; q < d; ++q) cov[p * d + q] += a[i * d + p] * a[i * d + q];
  std::vector<double> out(N * 2);
  std::vector<std::vector<double>> axes;
  for (int component = 0; component < 2; ++component) {
    std::vector<double> v(d), next(d);
    for (int64_t k = 0; k < d; ++k) v[k] = 1.0 + 0.01 * static_cast<double>(k % 7);  // not orthogonal to the answer
    for (int iteration = 0; iteration < 500; ++iteration) {
      for (const auto& u : axes) {  // deflation: stay orthogonal to the axes found
        double dot = 0;
        for (int64_t k = 0; k < d; ++k) dot += u[k] * v[k];
        for (int64_t k = 0; k < d; ++k) v[k] -= dot * u[k];
      }
      double norm = 0;
      for (int64_t p = 0; p < d; ++p) {
        next[p] = 0;
        for (int64_t q = 0; q < d; ++q) next[p] += cov[p * d + q] * v[q];
      }
      for (const auto& u : axes) {
        double dot = 0;
        for (int64_t k = 0; k < d; ++k) dot += u[k] * next[k];
        for (int64_t k = 0; k < d; ++k) next[k] -= dot * u[k];
      }
      for (double e : next) norm += e * e;
      norm = std::sqrt(norm);
      if (norm == 0) break;  // no variance left
      for (int64_t k = 0; k < d; ++k) v[k] = next[k] / norm;
    }
    double largest = 0;
    for (int64_t i = 0; i < N; ++i) {
      double c = 0;
      for (int64_t k = 0; k < d; ++k) c += a[i * d + k] * v[k];
      out[i * 2 + component] = c;
      if (std::abs(c) > std::abs(largest)) largest = c;
    }
    if (largest < 0)
      for (int64_t i = 0; i < N; ++i) out[i * 2 + component] = -out[i * 2 + component];
    axes.push_back(v);
  }
  return out;
}

std::vector<double> tsne_2d(const Tensor& x, uint64_t seed, double perplexity, int iterations) {
  int64_t N, d;
  const std::vector<double> a = rows_of(x, N, d);
  MM_CHECK(perplexity > 0 && perplexity < static_cast<double>(N), "t-SNE: perplexity {} needs more than {} points",
           perplexity, N);
  // squared distances between the rows
  std::vector<double> dist(N * N);
#pragma omp parallel for
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) s += (a[i * d + k] - a[j * d + k]) * (a[i * d + k] - a[j * d + k]);
      dist[i * N + j] = s;
    }
  // p_{j|i} = exp(-beta_i D_ij) / sum: beta_i by bisection until the entropy is log(perplexity)
  std::vector<double> P(N * N, 0.0);
  const double target = std::log(perplexity);
#pragma omp parallel for
  for (int64_t i = 0; i < N; ++i) {
    double beta = 1, lo = 0, hi = INFINITY;
    double* row = &P[i * N];
    for (int attempt = 0; attempt < 100; ++attempt) {
      double nearest = INFINITY;  // subtracting the smallest distance keeps exp() in range
      for (int64_t j = 0; j < N; ++j)
        if (j != i) nearest = std::min(nearest, dist[i * N + j]);
      double sum = 0, weighted = 0;
      for (int64_t j = 0; j < N; ++j) {
        row[j] = j == i ? 0 : std::exp(-beta * (dist[i * N + j] - nearest));
        sum += row[j], weighted += row[j] * (dist[i * N + j] - nearest);
      }
      const double entropy = std::log(sum) + beta * weighted / sum;
      for (int64_t j = 0; j < N; ++j) row[j] /= sum;
      if (std::abs(entropy - target) < 1e-5) break;
      if (entropy > target) lo = beta, beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
      else hi = beta, beta = (beta + lo) / 2;
    }
  }
  // p_ij = (p_{j|i} + p_{i|j}) / 2N
  std::vector<double> p(N * N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) p[i * N + j] = std::max((P[i * N + j] + P[j * N + i]) / (2.0 * N), 1e-12);

  Rng rng(seed);
  std::vector<double> y(N * 2), velocity(N * 2, 0.0), gains(N * 2, 1.0), grad(N * 2), q(N * N);
  for (double& v : y) v = 1e-2 * rng.normal();
  const double rate = std::max(static_cast<double>(N) / 12.0, 50.0);
  for (int it = 0; it < iterations; ++it) {
    const double exaggeration = it < 250 ? 12.0 : 1.0, momentum = it < 250 ? 0.5 : 0.8;
    // Student-t kernel w_ij = 1 / (1 + |y_i - y_j|^2); q_ij = w_ij / sum
    double z = 0;
#pragma omp parallel for reduction(+ : z)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const double du = y[i * 2] - y[j * 2], dv = y[i * 2 + 1] - y[j * 2 + 1];
        q[i * N + j] = i == j ? 0 : 1.0 / (1.0 + du * du + dv * dv);
        z += q[i * N + j];
      }
    // dC/dy_i = 4 sum_j (exaggeration p_ij - q_ij) w_ij (y_i - y_j)
#pragma omp parallel for
    for (int64_t i = 0; i < N; ++i) {
      double gu = 0, gv = 0;
      for (int64_t j = 0; j < N; ++j) {
        const double w = q[i * N + j], f = (exaggeration * p[i * N + j] - w / z) * w;
        gu += f * (y[i * 2] - y[j * 2]), gv += f * (y[i * 2 + 1] - y[j * 2 + 1]);
      }
      grad[i * 2] = 4 * gu, grad[i * 2 + 1] = 4 * gv;
    }
    for (int64_t k = 0; k < N * 2; ++k) {
      // a gain grows while the gradient keeps pushing the same way as the velocity, else shrinks
      gains[k] = (grad[k] > 0) != (velocity[k] > 0) ? gains[k] + 0.2 : std::max(gains[k] * 0.8, 0.01);
      velocity[k] = momentum * velocity[k] - rate * gains[k] * grad[k];
      y[k] += velocity[k];
    }
    for (int axis = 0; axis < 2; ++axis) {  // keep the map centred
      double mean = 0;
      for (int64_t i = 0; i < N; ++i) mean += y[i * 2 + axis];
      mean /= static_cast<double>(N);
      for (int64_t i = 0; i < N; ++i) y[i * 2 + axis] -= mean;
    }
  }
  return y;
}

}  // namespace mm
