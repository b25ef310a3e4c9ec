// Element-wise ops and reductions to a scalar. Formulas in engine/ops.h.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops.h"

namespace mm {

namespace {

// out[i] (=|+=) f(i) for i in [0, n), in parallel.
template <class T, class F>
void map_into(T* out, int64_t n, bool accumulate, F f) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = accumulate ? out[i] + f(i) : f(i);
}

void require_cpu(const Tensor& t, const char* op) {
  MM_CHECK(t.device().is_cpu(), "{}: not implemented on {}", op, t.device().str());
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "add");
  require_cpu(a, "add");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_floating(a.dtype(), "add", [&](auto t) {
    using T = decltype(t);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return pa[i] + pb[i]; });
  });
  if (needs_grad({&a, &b})) {
    record("add", y, [a, b, y]() mutable {
      for (const Tensor* in : {&a, &b}) {
        if (!in->requires_grad()) continue;
        dispatch_floating(y.dtype(), "add backward", [&](auto t) {
          using T = decltype(t);
          const T* dy = y.grad().data<T>();
          map_into(in->grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return dy[i]; });
        });
      }
    });
  }
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "mul");
  require_cpu(a, "mul");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_floating(a.dtype(), "mul", [&](auto t) {
    using T = decltype(t);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return pa[i] * pb[i]; });
  });
  if (needs_grad({&a, &b})) {
    record("mul", y, [a, b, y]() mutable {
      dispatch_floating(y.dtype(), "mul backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        const T *pa = a.data<T>(), *pb = b.data<T>();
        if (a.requires_grad()) map_into(a.grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return dy[i] * pb[i]; });
        if (b.requires_grad()) map_into(b.grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return dy[i] * pa[i]; });
      });
    });
  }
  return y;
}

Tensor scale(const Tensor& a, double s) {
  require_cpu(a, "scale");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_floating(a.dtype(), "scale", [&](auto t) {
    using T = decltype(t);
    const T* pa = a.data<T>();
    map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return T(s) * pa[i]; });
  });
  if (needs_grad({&a})) {
    record("scale", y, [a, y, s]() mutable {
      dispatch_floating(y.dtype(), "scale backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        map_into(a.grad_ref().data<T>(), y.numel(), true, [=](int64_t i) { return T(s) * dy[i]; });
      });
    });
  }
  return y;
}

Tensor relu(const Tensor& x) {
  require_cpu(x, "relu");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), "relu", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return math::relu(px[i]); });
  });
  if (needs_grad({&x})) {
    record("relu", y, [x, y]() mutable {
      dispatch_floating(y.dtype(), "relu backward", [&](auto t) {
        using T = decltype(t);
        const T *dy = y.grad().data<T>(), *py = y.data<T>();
        map_into(x.grad_ref().data<T>(), y.numel(), true,
                 [=](int64_t i) { return math::relu_backward(py[i], dy[i]); });
      });
    });
  }
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  if (needs_grad({&x})) {
    record("reshape", y, [x, y]() mutable {
      Tensor dx = y.grad().view(x.shape());
      Tensor& g = x.grad_ref();
      dispatch_floating(x.dtype(), "reshape backward", [&](auto t) {
        using T = decltype(t);
        const T* d = dx.data<T>();
        map_into(g.data<T>(), g.numel(), true, [=](int64_t i) { return d[i]; });
      });
    });
  }
  return y;
}

namespace {
// y = weight * sum(x); backward: dx += weight * dy.
Tensor weighted_sum(const Tensor& x, double weight, const char* op) {
  require_cpu(x, op);
  Tensor y = Tensor::empty({}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), op, [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    const double total = parallel_sums(x.numel(), 1, [&](int64_t i, double* slot) { slot[0] += px[i]; })[0];
    y.data<T>()[0] = T(weight * total);
  });
  if (needs_grad({&x})) {
    record(op, y, [x, y, weight]() mutable {
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
