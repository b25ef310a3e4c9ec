// The CUDA twins of the pooling kernels (engine/ops/pool_kernels.h).
#include "engine/cuda/context.cuh"
#include "engine/ops/pool_kernels.h"
#include "engine/ops/pool_math.h"

namespace mm::cuda {

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

}  // namespace mm::cuda
