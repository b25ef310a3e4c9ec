// The pooling kernels: the dispatch to the device and the CPU loops (GPU: engine/ops/pool.cu).
#include "engine/ops/pool_kernels.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops/pool_math.h"

namespace mm::kernels {

void window_mean(const Tensor& x, int kh, int kw, Tensor& y) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), Ho = H / kh, Wo = W / kw;
  if (x.device().is_cuda())
    return MM_CUDA_CALL(cuda::window_mean(x.data<float>(), int(N), int(H), int(W), int(C), kh, kw, y.data<float>()));
  dispatch_floating(x.dtype(), "avg_pool", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int count = kh * kw;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < N * Ho * Wo; ++o) {
      const int64_t n = o / (Ho * Wo), oh = (o / Wo) % Ho, ow = o % Wo;
      T* out = py + o * C;
      std::fill_n(out, C, T(0));
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          const T* in = px + ((n * H + oh * kh + i) * W + ow * kw + j) * C;
          for (int64_t c = 0; c < C; ++c) out[c] += in[c];  // window totals, channels vectorised
        }
      for (int64_t c = 0; c < C; ++c) out[c] = math::window_mean(out[c], count);
    }
  });
}

void window_mean_backward(const Tensor& dy, int kh, int kw, Tensor& dx) {
  const int64_t N = dx.dim(0), H = dx.dim(1), W = dx.dim(2), C = dx.dim(3), Ho = H / kh, Wo = W / kw;
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(cuda::window_mean_backward(dy.data<float>(), int(N), int(H), int(W), int(C), kh, kw, dx.data<float>()));
  dispatch_floating(dx.dtype(), "avg_pool backward", [&](auto t) {
    using T = decltype(t);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    const int count = kh * kw;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < N * Ho * Wo; ++o) {
      const int64_t n = o / (Ho * Wo), oh = (o / Wo) % Ho, ow = o % Wo;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          T* out = pdx + ((n * H + oh * kh + i) * W + ow * kw + j) * C;
          for (int64_t c = 0; c < C; ++c) out[c] += math::window_share(pdy[o * C + c], count);
        }
    }
  });
}

}  // namespace mm::kernels
