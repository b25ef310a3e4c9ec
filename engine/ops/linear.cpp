// The fully connected op as two GEMMs, with its autograd. No device code.
#include "engine/ops/linear.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise_kernels.h"
#include "engine/ops/matmul_kernels.h"
#include "engine/ops/reduce_kernels.h"

namespace mm {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  MM_CHECK(x.ndim() == 2 && w.ndim() == 2 && x.dim(1) == w.dim(1), "linear: input {} and weight {} do not fit",
           shape_str(x.shape()), shape_str(w.shape()));
  if (b.defined()) check_shape(b, {w.dim(0)}, "linear bias");
  const Device device = common_device({&x, &w, &b}, "linear");
  const int N = x.dim(0), in = x.dim(1), out = w.dim(0);
  Tensor y = Tensor::empty({N, out}, x.dtype(), device);
  // y [N, out] = x [N, in] @ w^T [in, out], then + b on every row
  kernels::gemm(false, true, N, out, in, 1.0, {x, 0, in}, {w, 0, in}, 0.0, {y, 0, out});
  if (b.defined()) kernels::binary(BinaryOp::Add, y, b, y);
  if (needs_grad({&x, &w, &b})) {
    record("linear", y, [x, w, b, y, N, in, out]() {
      const Tensor dy = y.grad();
      // each gradient assigned when new (beta = 0), else added to (beta = 1)
      if (x.requires_grad()) {  // dx [N, in] (+)= dy [N, out] @ w [out, in]
        auto dx = x.grad_to_write();
        kernels::gemm(false, false, N, in, out, 1.0, {dy, 0, out}, {w, 0, in}, dx.accumulate ? 1.0 : 0.0, {dx.tensor, 0, in});
      }
      if (w.requires_grad()) {  // dw [out, in] (+)= dy^T [out, N] @ x [N, in]
        auto dw = w.grad_to_write();
        kernels::gemm(true, false, out, in, N, 1.0, {dy, 0, out}, {x, 0, in}, dw.accumulate ? 1.0 : 0.0, {dw.tensor, 0, in});
      }
      if (b.defined() && b.requires_grad()) {
        auto db = b.grad_to_write();
        kernels::column_sums(dy, out, db.tensor, db.accumulate);
      }
    });
  }
  return y;
}

}  // namespace mm
