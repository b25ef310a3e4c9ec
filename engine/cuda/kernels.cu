// CUDA kernels and vendor-library calls behind engine/cuda/kernels.h. The arithmetic of each
// element comes from engine/math.h, shared with the CPU loops.
#include <map>
#include <mutex>
#include <tuple>

#include "engine/cuda/context.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/runtime.h"
#include "engine/math.h"

namespace mm::cuda {

// ---- reductions ----
void sum(const float* x, int64_t n, float weight, float* out) {
  column_reduce(n, 1, [=] __device__(int64_t r, int64_t) { return double(x[r]); }, out, weight, false);
}

// ---- pooling ---------------------------------------------------------------------------------------
void window_mean(const float* x, int N, int H, int W, int C, int kh, int kw, float* y) {
  const int Ho = H / kh, Wo = W / kw;
  map(int64_t(N) * Ho * Wo * C, [=] __device__(int64_t o) {
    const int64_t c = o % C, p = o / C, ow = p % Wo, oh = (p / Wo) % Ho, n = p / (Wo * Ho);
    float total = 0;
    for (int i = 0; i < kh; ++i)
      for (int j = 0; j < kw; ++j) total += x[((n * H + oh * kh + i) * W + ow * kw + j) * C + c];
    y[o] = math::window_mean(total, kh * kw);
  });
}

void window_mean_backward(const float* dy, int N, int H, int W, int C, int kh, int kw, float* dx) {
  const int Ho = H / kh, Wo = W / kw;
  map(int64_t(N) * H * W * C, [=] __device__(int64_t i) {
    const int64_t c = i % C, p = i / C, w = p % W, h = (p / W) % H, n = p / (W * H);
    dx[i] += math::window_share(dy[((n * Ho + h / kh) * Wo + w / kw) * C + c], kh * kw);
  });
}

// ---- losses ----------------------------------------------------------------------------------------
void xent_label_rows(const float* z, const int64_t* labels, int64_t N, int64_t C, float* row_loss) {
  map(N, [=] __device__(int64_t i) {
    row_loss[i] = math::softmax_xent_label_row<float>(z + i * C, labels[i], int(C), nullptr);
  });
}

void xent_label_backward(const float* z, const int64_t* labels, int64_t N, int64_t C, const float* dloss, float scale,
                         float* dz) {
  Scratch g(N * C);
  float* grad = g.p;
  map(N, [=] __device__(int64_t i) { math::softmax_xent_label_row<float>(z + i * C, labels[i], int(C), grad + i * C); });
  map(N * C, [=] __device__(int64_t i) { dz[i] += dloss[0] * scale * grad[i]; });
}

void xent_soft_rows(const float* z, const float* t, int64_t N, int64_t C, float* row_loss) {
  map(N, [=] __device__(int64_t i) { row_loss[i] = math::softmax_xent_row<float>(z + i * C, t + i * C, int(C), nullptr); });
}

void xent_soft_backward(const float* z, const float* t, int64_t N, int64_t C, const float* dloss, float scale,
                        float* dz) {
  Scratch g(N * C);
  float* grad = g.p;
  map(N, [=] __device__(int64_t i) { math::softmax_xent_row<float>(z + i * C, t + i * C, int(C), grad + i * C); });
  map(N * C, [=] __device__(int64_t i) { dz[i] += dloss[0] * scale * grad[i]; });
}

void softmax_rows(const float* z, int64_t N, int64_t C, float* p) {
  map(N, [=] __device__(int64_t i) { math::softmax_row(z + i * C, int(C), p + i * C); });
}

void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y) {
  map(N * copies * C, [=] __device__(int64_t q) { y[q] = math::one_hot_entry<float>(labels[q / (copies * C)], q % C, C); });
}

// ---- optimiser -------------------------------------------------------------------------------------
void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov, bool first) {
  map(n, [=] __device__(int64_t i) { math::sgd_update(p[i], g[i], buf[i], lr, momentum, weight_decay, nesterov, first); });
}

void ema_update(float* teacher, const float* student, int64_t n, float beta) {
  map(n, [=] __device__(int64_t i) { teacher[i] = math::ema(teacher[i], student[i], beta); });
}

}  // namespace mm::cuda
