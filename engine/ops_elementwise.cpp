// Element-wise ops and reductions to a scalar. Formulas in engine/ops.h.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops.h"

namespace mm {

namespace {

// out[i] (=|+=) f(i) for i in [0, n), in parallel (CPU).
template <class T, class F>
void map_into(T* out, int64_t n, bool accumulate, F f) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = accumulate ? out[i] + f(i) : f(i);
}

// dst += alpha * src (same shape, dtype and device): most backward passes of this file.
void accumulate(Tensor dst, const Tensor& src, double alpha) {
  if (dst.device().is_cuda()) {
    MM_CUDA_CALL(cuda::axpy(float(alpha), src.data<float>(), dst.data<float>(), src.numel()));
    return;
  }
  dispatch_floating(dst.dtype(), "accumulate", [&](auto t) {
    using T = decltype(t);
    const T* s = src.data<T>();
    map_into(dst.data<T>(), src.numel(), true, [=](int64_t i) { return T(alpha) * s[i]; });
  });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "add");
  const Device device = common_device({&a, &b}, "add");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::add(a.data<float>(), b.data<float>(), y.data<float>(), y.numel()));
  } else {
    dispatch_floating(a.dtype(), "add", [&](auto t) {
      using T = decltype(t);
      const T *pa = a.data<T>(), *pb = b.data<T>();
      map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return pa[i] + pb[i]; });
    });
  }
  if (needs_grad({&a, &b})) {
    record("add", y, [a, b, y]() {
      for (const Tensor* in : {&a, &b})
        if (in->requires_grad()) accumulate(in->grad_ref(), y.grad(), 1.0);
    });
  }
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "mul");
  const Device device = common_device({&a, &b}, "mul");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::mul(a.data<float>(), b.data<float>(), y.data<float>(), y.numel()));
  } else {
    dispatch_floating(a.dtype(), "mul", [&](auto t) {
      using T = decltype(t);
      const T *pa = a.data<T>(), *pb = b.data<T>();
      map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return pa[i] * pb[i]; });
    });
  }
  if (needs_grad({&a, &b})) {
    record("mul", y, [a, b, y]() {
      // da += dy * b, db += dy * a
      for (auto [in, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        if (!in->requires_grad()) continue;
        if (y.device().is_cuda()) {
          MM_CUDA_CALL(cuda::mul_accumulate(y.grad().data<float>(), other->data<float>(), in->grad_ref().data<float>(), y.numel()));
          continue;
        }
        dispatch_floating(y.dtype(), "mul backward", [&](auto t) {
          using T = decltype(t);
          const T *dy = y.grad().data<T>(), *po = other->data<T>();
          map_into(in->grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return dy[i] * po[i]; });
        });
      }
    });
  }
  return y;
}

Tensor scale(const Tensor& a, double s) {
  const Device device = common_device({&a}, "scale");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::scale(a.data<float>(), float(s), y.data<float>(), y.numel()));
  } else {
    dispatch_floating(a.dtype(), "scale", [&](auto t) {
      using T = decltype(t);
      const T* pa = a.data<T>();
      map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return T(s) * pa[i]; });
    });
  }
  if (needs_grad({&a})) record("scale", y, [a, y, s]() { accumulate(a.grad_ref(), y.grad(), s); });
  return y;
}

Tensor relu(const Tensor& x) {
  const Device device = common_device({&x}, "relu");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::relu(x.data<float>(), y.data<float>(), y.numel()));
  } else {
    dispatch_floating(x.dtype(), "relu", [&](auto t) {
      using T = decltype(t);
      const T* px = x.data<T>();
      map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return math::relu(px[i]); });
    });
  }
  if (needs_grad({&x})) {
    record("relu", y, [x, y]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL(cuda::relu_backward(y.data<float>(), y.grad().data<float>(), x.grad_ref().data<float>(), y.numel()));
        return;
      }
      dispatch_floating(y.dtype(), "relu backward", [&](auto t) {
        using T = decltype(t);
        const T *dy = y.grad().data<T>(), *py = y.data<T>();
        map_into(x.grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return math::relu_backward(py[i], dy[i]); });
      });
    });
  }
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
  const int64_t C = scale.numel();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::channel_affine(x.data<float>(), scale.data<float>(), shift.data<float>(), y.data<float>(),
                                      y.numel(), C));
  } else {
    dispatch_floating(x.dtype(), "channel_affine", [&](auto t) {
      using T = decltype(t);
      const T *px = x.data<T>(), *a = scale.data<T>(), *b = shift.data<T>();
      map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return math::affine(px[i], a[i % C], b[i % C]); });
    });
  }
  if (needs_grad({&x})) {
    record("channel_affine", y, [x, y, scale, C]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL(cuda::channel_affine_backward(y.grad().data<float>(), scale.data<float>(),
                                                   x.grad_ref().data<float>(), y.numel(), C));
        return;
      }
      dispatch_floating(y.dtype(), "channel_affine backward", [&](auto t) {
        using T = decltype(t);
        const T *dy = y.grad().data<T>(), *a = scale.data<T>();
        map_into(x.grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return math::affine_backward(dy[i], a[i % C]); });
      });
    });
  }
  return y;
}

Tensor projected_sign_step(const Tensor& x, const Tensor& x0, const Tensor& g, double step, double radius) {
  check_same_shape(x, x0, "projected_sign_step");
  check_same_shape(x, g, "projected_sign_step");
  const Device device = common_device({&x, &x0, &g}, "projected_sign_step");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::projected_sign_step(x.data<float>(), x0.data<float>(), g.data<float>(), float(step),
                                           float(radius), y.data<float>(), y.numel()));
    return y;
  }
  dispatch_floating(x.dtype(), "projected_sign_step", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *p0 = x0.data<T>(), *pg = g.data<T>();
    map_into(y.data<T>(), y.numel(), false,
             [=](int64_t i) { return math::projected_sign_step(px[i], p0[i], pg[i], T(step), T(radius)); });
  });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  if (needs_grad({&x})) record("reshape", y, [x, y]() { accumulate(x.grad_ref(), y.grad().view(x.shape()), 1.0); });
  return y;
}

namespace {
// y = weight * sum(x); backward: dx += weight * dy.
Tensor weighted_sum(const Tensor& x, double weight, const char* op) {
  const Device device = common_device({&x}, op);
  Tensor y = Tensor::empty({}, x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::sum(x.data<float>(), x.numel(), float(weight), y.data<float>()));
  } else {
    dispatch_floating(x.dtype(), op, [&](auto t) {
      using T = decltype(t);
      const T* px = x.data<T>();
      const double total = parallel_sums(x.numel(), 1, [&](int64_t i, double* slot) { slot[0] += px[i]; })[0];
      y.data<T>()[0] = T(weight * total);
    });
  }
  if (needs_grad({&x})) {
    record(op, y, [x, y, weight]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL(cuda::fill_scalar_times(x.grad_ref().data<float>(), y.grad().data<float>(), float(weight), x.numel()));
        return;
      }
      dispatch_floating(x.dtype(), "sum backward", [&](auto t) {
        using T = decltype(t);
        const T dy = y.grad().data<T>()[0] * T(weight);
        map_into(x.grad_ref().data<T>(), x.numel(), true, [=](int64_t) { return dy; });
      });
    });
  }
  return y;
}
}  // namespace

Tensor sum(const Tensor& x) { return weighted_sum(x, 1.0, "sum"); }
Tensor mean(const Tensor& x) {
  MM_CHECK(x.numel() > 0, "mean of an empty tensor");
  return weighted_sum(x, 1.0 / x.numel(), "mean");
}

}  // namespace mm
