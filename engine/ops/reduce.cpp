// Reductions with their autograd. No device code: engine/ops/reduce_kernels.h runs them.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/reduce.h"
#include "engine/ops/reduce_kernels.h"

namespace mm {

namespace {

// y = weight * (the sum of x over `axes`), recorded as `name`.
Tensor weighted_sum(const Tensor& x, std::vector<int> axes, bool mean, const char* name) {
  const Device device = common_device({&x}, name);
  MM_CHECK(x.ndim() <= math::kMaxDims, "{}: at most {} dimensions, got {}", name, math::kMaxDims, shape_str(x.shape()));
  math::ReduceShape shape;
  shape.ndim = x.ndim();
  for (int k = 0; k < x.ndim(); ++k) shape.dims[k] = x.dim(k);
  for (int& a : axes) {
    const int axis = a < 0 ? a + x.ndim() : a;
    MM_CHECK(0 <= axis && axis < x.ndim() && !shape.reduced[axis], "{}: bad or repeated axis {} for {}", name, a,
             shape_str(x.shape()));
    shape.reduced[axis] = true;
  }
  Shape out;
  int64_t count = 1;
  for (int k = 0; k < x.ndim(); ++k) {
    if (shape.reduced[k]) count *= x.dim(k);
    else out.push_back(x.dim(k));
  }
  MM_CHECK(!mean || count > 0, "{}: the mean of no elements", name);
  const double weight = mean ? 1.0 / static_cast<double>(count) : 1.0;
  Tensor y = Tensor::empty(out, x.dtype(), device);
  kernels::reduce_sum(shape, x, weight, y);
  if (needs_grad({&x}))
    record(name, y, [shape, x, y, weight]() { kernels::reduce_sum_backward(shape, y.grad(), weight, x.grad_ref()); });
  return y;
}

std::vector<int> all_axes(const Tensor& x) {
  std::vector<int> axes(x.ndim());
  for (int k = 0; k < x.ndim(); ++k) axes[k] = k;
  return axes;
}

}  // namespace

Tensor sum(const Tensor& x) { return weighted_sum(x, all_axes(x), false, "sum"); }
Tensor mean(const Tensor& x) { return weighted_sum(x, all_axes(x), true, "mean"); }
Tensor sum(const Tensor& x, const std::vector<int>& axes) { return weighted_sum(x, axes, false, "sum"); }
Tensor mean(const Tensor& x, const std::vector<int>& axes) { return weighted_sum(x, axes, true, "mean"); }

}  // namespace mm
