// 2-D convolution with its autograd. No device code: engine/ops/conv_kernels.h runs it.
#include "engine/ops/conv.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/conv_kernels.h"
#include "engine/ops/elementwise_kernels.h"
#include "engine/ops/reduce_kernels.h"

namespace mm {

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad) {
  MM_CHECK(x.ndim() == 4 && w.ndim() == 4 && x.dim(3) == w.dim(3),
           "conv2d: input {} (NHWC) and weight {} ([Cout, kh, kw, Cin]) do not fit", shape_str(x.shape()),
           shape_str(w.shape()));
  MM_CHECK(stride >= 1 && pad >= 0, "conv2d: stride {} and padding {} are invalid", stride, pad);
  if (b.defined()) check_shape(b, {w.dim(0)}, "conv2d bias");
  const Device device = common_device({&x, &w, &b}, "conv2d");
  ConvGeometry g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(1), w.dim(2), stride, pad, 0, 0};
  g.Ho = (g.H + 2 * pad - g.kh) / stride + 1;
  g.Wo = (g.W + 2 * pad - g.kw) / stride + 1;
  MM_CHECK(g.Ho > 0 && g.Wo > 0, "conv2d: kernel {}x{} larger than padded input {}", g.kh, g.kw, shape_str(x.shape()));
  Tensor y = Tensor::empty({g.N, g.Ho, g.Wo, g.Cout}, x.dtype(), device);
  kernels::conv2d(g, x, w, y);
  if (b.defined()) kernels::binary(BinaryOp::Add, y, b, y);  // + b at every position
  if (needs_grad({&x, &w, &b})) {
    record("conv2d", y, [=]() {
      // one gradient at a time: a new one is assigned, an existing one added to (Tensor::grad_to_write)
      if (x.requires_grad()) {
        auto dx = x.grad_to_write();
        kernels::conv2d_backward_input(g, w, y.grad(), dx.tensor, dx.accumulate);
      }
      if (w.requires_grad()) {
        auto dw = w.grad_to_write();
        kernels::conv2d_backward_weight(g, x, y.grad(), dw.tensor, dw.accumulate);
      }
      if (b.defined() && b.requires_grad()) {
        auto db = b.grad_to_write();
        kernels::column_sums(y.grad(), g.Cout, db.tensor, db.accumulate);
      }
    });
  }
  return y;
}

}  // namespace mm
