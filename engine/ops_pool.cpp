// Average pooling in NHWC. Formulas in engine/ops.h; the per-element math in engine/math.h.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops.h"

namespace mm {

namespace {
// The mean of each non-overlapping kh x kw window: [N, H, W, C] -> [N, H/kh, W/kw, C].
Tensor window_mean(const Tensor& x, int64_t kh, int64_t kw) {
  MM_CHECK(x.ndim() == 4, "avg_pool: expected [N, H, W, C], got {}", shape_str(x.shape()));
  MM_CHECK(kh >= 1 && kw >= 1 && x.dim(1) % kh == 0 && x.dim(2) % kw == 0, "avg_pool: {}x{} windows do not tile {}",
           kh, kw, shape_str(x.shape()));
  const Device device = common_device({&x}, "avg_pool");
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), Ho = H / kh, Wo = W / kw;
  Tensor y = Tensor::empty({N, Ho, Wo, C}, x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::window_mean(x.data<float>(), int(N), int(H), int(W), int(C), int(kh), int(kw), y.data<float>()));
  } else dispatch_floating(x.dtype(), "avg_pool", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int count = static_cast<int>(kh * kw);
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
  if (needs_grad({&x})) {
    record("avg_pool", y, [x, y, kh, kw, N, H, W, C, Ho, Wo]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL(cuda::window_mean_backward(y.grad().data<float>(), int(N), int(H), int(W), int(C), int(kh), int(kw),
                                                x.grad_ref().data<float>()));
        return;
      }
      dispatch_floating(x.dtype(), "avg_pool backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        T* dx = x.grad_ref().data<T>();
        const int count = static_cast<int>(kh * kw);
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < N * Ho * Wo; ++o) {
          const int64_t n = o / (Ho * Wo), oh = (o / Wo) % Ho, ow = o % Wo;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              T* out = dx + ((n * H + oh * kh + i) * W + ow * kw + j) * C;
              for (int64_t c = 0; c < C; ++c) out[c] += math::window_share(dy[o * C + c], count);
            }
        }
      });
    });
  }
  return y;
}

}  // namespace

Tensor avg_pool(const Tensor& x, int k) { return window_mean(x, k, k); }

Tensor global_avg_pool(const Tensor& x) {
  MM_CHECK(x.ndim() == 4, "global_avg_pool: expected [N, H, W, C], got {}", shape_str(x.shape()));
  // The mean over the whole H x W map is one window.
  return reshape(window_mean(x, x.dim(1), x.dim(2)), {x.dim(0), x.dim(3)});
}

}  // namespace mm
