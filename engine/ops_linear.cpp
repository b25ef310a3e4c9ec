// Fully connected layer as two GEMMs. Formulas in engine/ops.h.
#include "engine/autograd.h"
#include "engine/blas.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

namespace mm {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  MM_CHECK(x.ndim() == 2 && w.ndim() == 2 && x.dim(1) == w.dim(1), "linear: input {} and weight {} do not fit",
           shape_str(x.shape()), shape_str(w.shape()));
  if (b.defined()) check_shape(b, {w.dim(0)}, "linear bias");
  const Device device = common_device({&x, &w, &b}, "linear");
  const int N = x.dim(0), in = x.dim(1), out = w.dim(0);
  Tensor y = Tensor::empty({N, out}, x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL({
      cuda::gemm(false, true, N, out, in, 1.0f, x.data<float>(), in, w.data<float>(), in, 0.0f, y.data<float>(), out);
      if (b.defined()) cuda::add_bias(y.data<float>(), b.data<float>(), N, out);
    });
  } else dispatch_floating(x.dtype(), "linear", [&](auto t) {
    using T = decltype(t);
    T* py = y.data<T>();
    if (b.defined())
      for (int i = 0; i < N; ++i) std::copy_n(b.data<T>(), out, py + int64_t(i) * out);
    // y [N, out] = x [N, in] @ w^T [in, out] (+ bias already in y)
    blas::gemm(false, true, N, out, in, T(1), x.data<T>(), in, w.data<T>(), in, T(b.defined() ? 1 : 0), py, out);
  });
  if (needs_grad({&x, &w, &b})) {
    record("linear", y, [x, w, b, y, N, in, out]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL({
          const float* dy = y.grad().data<float>();
          if (x.requires_grad())
            cuda::gemm(false, false, N, in, out, 1.0f, dy, out, w.data<float>(), in, 1.0f, x.grad_ref().data<float>(), in);
          if (w.requires_grad())
            cuda::gemm(true, false, out, in, N, 1.0f, dy, out, x.data<float>(), in, 1.0f, w.grad_ref().data<float>(), in);
          if (b.defined() && b.requires_grad()) cuda::column_sums(dy, N, out, b.grad_ref().data<float>(), true);
        });
        return;
      }
      dispatch_floating(y.dtype(), "linear backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        // dx [N, in] += dy [N, out] @ w [out, in]
        if (x.requires_grad())
          blas::gemm(false, false, N, in, out, T(1), dy, out, w.data<T>(), in, T(1), x.grad_ref().data<T>(), in);
        // dw [out, in] += dy^T [out, N] @ x [N, in]
        if (w.requires_grad())
          blas::gemm(true, false, out, in, N, T(1), dy, out, x.data<T>(), in, T(1), w.grad_ref().data<T>(), in);
        if (b.defined() && b.requires_grad()) {
          T* db = b.grad_ref().data<T>();
          for (int i = 0; i < N; ++i)
            for (int o = 0; o < out; ++o) db[o] += dy[int64_t(i) * out + o];
        }
      });
    });
  }
  return y;
}

}  // namespace mm
