// The element-wise ops with their autograd: shape checks, the output, and the recorded backward.
// No device code: the kernels of engine/ops/elementwise_kernels.h run wherever the tensors live.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/elementwise_kernels.h"

namespace mm {

namespace {

Tensor unary_op(UnaryOp op, const Tensor& x, const char* name) {
  const Device device = common_device({&x}, name);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  kernels::unary(op, x, y);
  if (needs_grad({&x}))
    record(name, y, [op, x, y]() {
      auto dx = x.grad_to_write();  // assigned when new, else added to
      kernels::unary_backward(op, x, y, y.grad(), dx.tensor, dx.accumulate);
    });
  return y;
}

// b has a's shape, or (channel ops) the shape [C] of a's last dimension.
Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  const Device device = common_device({&a, &b}, name);
  MM_CHECK(a.dtype() == b.dtype(), "{}: dtypes {} and {} differ", name, dtype_name(a.dtype()), dtype_name(b.dtype()));
  Tensor y = Tensor::empty(a.shape(), a.dtype(), device);
  kernels::binary(op, a, b, y);
  if (needs_grad({&a, &b})) {
    record(name, y, [op, a, b, y]() {
      // each gradient assigned when new, else added to; the same tensor on both sides (add(x, x))
      // gets both contributions: da written first (and new, perhaps), then db added
      Tensor da, db;
      bool accumulate_a = true, accumulate_b = true;
      if (a.requires_grad()) {
        auto g = a.grad_to_write();
        da = g.tensor, accumulate_a = g.accumulate;
      }
      if (b.requires_grad()) {
        auto g = b.grad_to_write();
        db = g.tensor, accumulate_b = g.accumulate;
      }
      kernels::binary_backward(op, a, b, y.grad(), da.defined() ? &da : nullptr, accumulate_a, db.defined() ? &db : nullptr,
                               accumulate_b);
    });
  }
  return y;
}

Tensor same_shape_op(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_same_shape(a, b, name);
  return binary_op(op, a, b, name);
}

Tensor channel_op(BinaryOp op, const Tensor& x, const Tensor& v, const char* name) {
  MM_CHECK(x.ndim() >= 1 && v.ndim() == 1 && v.dim(0) == x.dim(-1), "{}: x [..., C] needs v [C], got {} and {}", name,
           shape_str(x.shape()), shape_str(v.shape()));
  return binary_op(op, x, v, name);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return same_shape_op(BinaryOp::Add, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return same_shape_op(BinaryOp::Sub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return same_shape_op(BinaryOp::Mul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return same_shape_op(BinaryOp::Div, a, b, "div"); }
Tensor channel_add(const Tensor& x, const Tensor& v) { return channel_op(BinaryOp::Add, x, v, "channel_add"); }
Tensor channel_mul(const Tensor& x, const Tensor& v) { return channel_op(BinaryOp::Mul, x, v, "channel_mul"); }

Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, x, "relu"); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, x, "exp"); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, x, "log"); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, x, "sqrt"); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::Rsqrt, x, "rsqrt"); }

Tensor scale(const Tensor& a, double s) {
  const Device device = common_device({&a}, "scale");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), device);
  kernels::axpy(s, a, y, /*accumulate=*/false);
  if (needs_grad({&a}))
    record("scale", y, [a, y, s]() {
      auto da = a.grad_to_write();
      kernels::axpy(s, y.grad(), da.tensor, da.accumulate);
    });
  return y;
}

Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  const Device device = common_device({&x}, "cast");
  Tensor y = Tensor::empty(x.shape(), dtype, device);
  kernels::convert(x, y, /*accumulate=*/false);
  if (needs_grad({&x}))
    record("cast", y, [x, y]() {
      auto dx = x.grad_to_write();
      kernels::convert(y.grad(), dx.tensor, dx.accumulate);
    });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  if (needs_grad({&x}))
    record("reshape", y, [x, y]() {
      auto dx = x.grad_to_write();
      kernels::axpy(1.0, y.grad().view(x.shape()), dx.tensor, dx.accumulate);
    });
  return y;
}

Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) {
  const Device device = common_device({&x, &scale, &shift}, "channel_affine");
  MM_CHECK(x.ndim() >= 1 && scale.ndim() == 1 && scale.dim(0) == x.dim(x.ndim() - 1) && shift.shape() == scale.shape(),
           "channel_affine: x [..., C] needs scale and shift [C], got {}, {}, {}", shape_str(x.shape()),
           shape_str(scale.shape()), shape_str(shift.shape()));
  MM_CHECK(scale.dtype() == x.dtype() && shift.dtype() == x.dtype(), "channel_affine: scale and shift must be {}",
           dtype_name(x.dtype()));
  MM_CHECK(!scale.requires_grad() && !shift.requires_grad(), "channel_affine: scale and shift are constants");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  kernels::channel_affine(x, scale, shift, y);
  if (needs_grad({&x}))
    record("channel_affine", y, [x, y, scale]() { kernels::channel_affine_backward(y.grad(), scale, x.grad_ref()); });
  return y;
}

Tensor projected_sign_step(const Tensor& x, const Tensor& x0, const Tensor& g, double step, double radius) {
  check_same_shape(x, x0, "projected_sign_step");
  check_same_shape(x, g, "projected_sign_step");
  const Device device = common_device({&x, &x0, &g}, "projected_sign_step");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  kernels::projected_sign_step(x, x0, g, step, radius, y);
  return y;
}

}  // namespace mm
