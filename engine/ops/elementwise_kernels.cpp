// The element-wise kernels: the dispatch to the device and the CPU loops (the CUDA twins are in
// engine/ops/elementwise.cu). Contracts in engine/ops/elementwise_kernels.h.
#include "engine/ops/elementwise_kernels.h"

#include <array>
#include <type_traits>

#include "engine/dispatch.h"

namespace mm::kernels {

namespace {
// out[i] (=|+=) f(i) for i in [0, n), in parallel.
template <class T, class F>
void map_into(T* out, int64_t n, bool accumulate, F f) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = accumulate ? out[i] + f(i) : f(i);
}

// The same over out viewed as [n / p, p] rows, with f(i, k) given k = i mod p: the column of a
// broadcast operand (a bias, a per-channel scale) without a division per element, which would
// also keep the loop from being vectorised.
template <class T, class F>
void map_rows_into(T* out, int64_t n, int64_t p, bool accumulate, F f) {
  if (p == n) return map_into(out, n, accumulate, [=](int64_t i) { return f(i, i); });
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t r = 0; r < n / p; ++r)
    for (int64_t k = 0, i = r * p; k < p; ++k, ++i) out[i] = accumulate ? out[i] + f(i, k) : f(i, k);
}
}  // namespace

void unary(UnaryOp op, const Tensor& x, Tensor& y) {
  if (y.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "unary", [&](auto s) {
      using S = decltype(s);
      cuda::unary(op, x.data<S>(), y.data<S>(), y.numel());
    }));
  if (bf16_as_float32({&x}, {&y}, [&](auto& in, auto& out) { unary(op, in[0], out[0]); })) return;
  dispatch_floating(x.dtype(), "unary", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    visit(op, [&](auto f) { map_into(y.data<T>(), y.numel(), false, [=](int64_t i) { return f(px[i]); }); });
  });
}

void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, bool accumulate) {
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "unary backward", [&](auto s) {
      using S = decltype(s);
      cuda::unary_backward(op, x.data<S>(), y.data<S>(), dy.data<S>(), dx.data<S>(), dx.numel(), accumulate);
    }));
  if (bf16_as_float32({&x, &y, &dy}, {&dx}, [&](auto& in, auto& out) {
        unary_backward(op, in[0], in[1], in[2], out[0], accumulate);
      }))
    return;
  dispatch_floating(x.dtype(), "unary backward", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *py = y.data<T>(), *pdy = dy.data<T>();
    visit(op, [&](auto f) {
      map_into(dx.data<T>(), dx.numel(), accumulate, [=](int64_t i) { return f.backward(px[i], py[i], pdy[i]); });
    });
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y) {
  const int64_t n = y.numel(), p = b.numel();
  if (y.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(a.dtype(), "binary", [&](auto s) {
      using S = decltype(s);
      cuda::binary(op, a.data<S>(), b.data<S>(), y.data<S>(), n, p);
    }));
  if (bf16_as_float32({&a, &b}, {&y}, [&](auto& in, auto& out) { binary(op, in[0], in[1], out[0]); })) return;
  dispatch_floating(a.dtype(), "binary", [&](auto t) {
    using T = decltype(t);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    visit(op, [&](auto f) { map_rows_into(y.data<T>(), n, p, false, [=](int64_t i, int64_t k) { return f(pa[i], pb[k]); }); });
  });
}

void binary_backward(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor* da, bool accumulate_a,
                     Tensor* db, bool accumulate_b) {
  const int64_t n = dy.numel(), p = b.numel();
  if (dy.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(a.dtype(), "binary backward", [&](auto s) {
      using S = decltype(s);
      cuda::binary_backward(op, a.data<S>(), b.data<S>(), dy.data<S>(), da ? da->data<S>() : nullptr,
                                         accumulate_a, db ? db->data<S>() : nullptr, accumulate_b, n, p);
    }));
  Tensor* db_alone = db == da ? nullptr : db;  // da and db may be one tensor (add(x, x)): widened once
  if (bf16_as_float32({&a, &b, &dy}, {da, db_alone}, [&](auto& in, auto& out) {
        Tensor* wide_db = db_alone ? &out[1] : &out[0];
        binary_backward(op, in[0], in[1], in[2], da ? &out[0] : nullptr, accumulate_a, db ? wide_db : nullptr,
                        accumulate_b);
      }))
    return;
  dispatch_floating(a.dtype(), "binary backward", [&](auto t) {
    using T = decltype(t);
    const T *pa = a.data<T>(), *pb = b.data<T>(), *pdy = dy.data<T>();
    visit(op, [&](auto f) {
      if (da)
        map_rows_into(da->data<T>(), n, p, accumulate_a, [=](int64_t i, int64_t k) { return f.da(pa[i], pb[k], pdy[i]); });
      if (!db) return;
      if (p == n) {
        map_into(db->data<T>(), n, accumulate_b, [=](int64_t i) { return f.db(pa[i], pb[i], pdy[i]); });
        return;
      }
      // broadcast b: each of its p values sums over the n / p rows, deterministically
      const std::vector<double> sums = parallel_column_sums<1>(n / p, p, [&](int64_t r, int64_t k) {
        return std::array<double, 1>{double(f.db(pa[r * p + k], pb[k], pdy[r * p + k]))};
      });
      T* pdb = db->data<T>();
      for (int64_t k = 0; k < p; ++k) pdb[k] = accumulate_b ? pdb[k] + T(sums[k]) : T(sums[k]);
    });
  });
}

void axpy(double alpha, const Tensor& x, Tensor& y, bool accumulate) {
  if (y.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(y.dtype(), "axpy", [&](auto s) {
      using S = decltype(s);
      cuda::axpy(float(alpha), x.data<S>(), y.data<S>(), y.numel(), accumulate);
    }));
  if (bf16_as_float32({&x}, {&y}, [&](auto& in, auto& out) { axpy(alpha, in[0], out[0], accumulate); })) return;
  dispatch_floating(y.dtype(), "axpy", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    map_into(y.data<T>(), y.numel(), accumulate, [=](int64_t i) { return T(alpha) * px[i]; });
  });
}

void convert(const Tensor& x, Tensor& y, bool accumulate) {
  MM_CHECK(x.numel() == y.numel(), "convert: {} values into {}", x.numel(), y.numel());
  const bool f32_to_bf16 = x.dtype() == DType::F32 && y.dtype() == DType::BF16;
  const bool bf16_to_f32 = x.dtype() == DType::BF16 && y.dtype() == DType::F32;
  MM_CHECK(f32_to_bf16 || bf16_to_f32, "convert: {} to {} (float32 <-> bfloat16 only)", dtype_name(x.dtype()),
           dtype_name(y.dtype()));
  if (y.device().is_cuda())
    return MM_CUDA_CALL(f32_to_bf16 ? cuda::convert(x.data<float>(), y.data<bf16>(), y.numel(), accumulate)
                                    : cuda::convert(x.data<bf16>(), y.data<float>(), y.numel(), accumulate));
  auto loop = [&](const auto* px, auto* py) {
    using Out = std::remove_pointer_t<decltype(py)>;
#pragma omp parallel for schedule(static) if (y.numel() > 32768)
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = Out(accumulate ? float(py[i]) + float(px[i]) : float(px[i]));
  };
  if (f32_to_bf16) loop(x.data<float>(), y.data<bf16>());
  else loop(x.data<bf16>(), y.data<float>());
}

void channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift, Tensor& y) {
  const int64_t C = scale.numel();
  if (y.device().is_cuda())
    return MM_CUDA_CALL(cuda::channel_affine(x.data<float>(), scale.data<float>(), shift.data<float>(), y.data<float>(),
                                             y.numel(), C));
  dispatch_floating(x.dtype(), "channel_affine", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *a = scale.data<T>(), *b = shift.data<T>();
    map_rows_into(y.data<T>(), y.numel(), C, false, [=](int64_t i, int64_t c) { return math::affine(px[i], a[c], b[c]); });
  });
}

void channel_affine_backward(const Tensor& dy, const Tensor& scale, Tensor& dx) {
  const int64_t C = scale.numel();
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(cuda::channel_affine_backward(dy.data<float>(), scale.data<float>(), dx.data<float>(), dx.numel(), C));
  dispatch_floating(dx.dtype(), "channel_affine backward", [&](auto t) {
    using T = decltype(t);
    const T *pdy = dy.data<T>(), *a = scale.data<T>();
    map_rows_into(dx.data<T>(), dx.numel(), C, true, [=](int64_t i, int64_t c) { return math::affine_backward(pdy[i], a[c]); });
  });
}

void projected_sign_step(const Tensor& x, const Tensor& x0, const Tensor& g, double step, double radius, Tensor& y) {
  if (y.device().is_cuda())
    return MM_CUDA_CALL(cuda::projected_sign_step(x.data<float>(), x0.data<float>(), g.data<float>(), float(step),
                                                  float(radius), y.data<float>(), y.numel()));
  dispatch_floating(x.dtype(), "projected_sign_step", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *p0 = x0.data<T>(), *pg = g.data<T>();
    map_into(y.data<T>(), y.numel(), false,
             [=](int64_t i) { return math::projected_sign_step(px[i], p0[i], pg[i], T(step), T(radius)); });
  });
}

}  // namespace mm::kernels
