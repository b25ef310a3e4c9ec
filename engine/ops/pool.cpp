// Average pooling with its autograd. No device code: engine/ops/pool_kernels.h runs it.
#include "engine/ops/pool.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/pool_kernels.h"

namespace mm {

namespace {
// The mean of each non-overlapping kh x kw window: [N, H, W, C] -> [N, H/kh, W/kw, C].
Tensor window_mean(const Tensor& x, int64_t kh, int64_t kw) {
  MM_CHECK(x.ndim() == 4, "avg_pool: expected [N, H, W, C], got {}", shape_str(x.shape()));
  MM_CHECK(kh >= 1 && kw >= 1 && x.dim(1) % kh == 0 && x.dim(2) % kw == 0, "avg_pool: {}x{} windows do not tile {}",
           kh, kw, shape_str(x.shape()));
  const Device device = common_device({&x}, "avg_pool");
  Tensor y = Tensor::empty({x.dim(0), x.dim(1) / kh, x.dim(2) / kw, x.dim(3)}, x.dtype(), device);
  kernels::window_mean(x, int(kh), int(kw), y);
  if (needs_grad({&x}))
    record("avg_pool", y, [x, y, kh, kw]() {
      Tensor dx = x.grad_ref();
      kernels::window_mean_backward(y.grad(), int(kh), int(kw), dx);
    });
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
