// 2-D convolution in NHWC as im2col + one GEMM. Formulas in engine/ops.h.
//
// With K = kh * kw * Cin, the weight [Cout, kh, kw, Cin] is a [Cout, K] matrix and im2col turns a
// chunk of images into cols [rows = n * Ho * Wo, K], one row per output position holding its
// receptive field in (i, j, c) order. Then y [rows, Cout] = cols @ w^T is already NHWC.
// Images are processed in chunks so that cols stays within a fixed budget of memory.
// A 1x1, stride-1, unpadded convolution needs no im2col: cols is x itself.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/autograd.h"
#include "engine/blas.h"
#include "engine/dispatch.h"
#include "engine/ops.h"

namespace mm {

namespace {

struct ConvGeometry {
  int64_t N, H, W, Cin, Cout, kh, kw, stride, pad, Ho, Wo;
  int64_t K() const { return kh * kw * Cin; }
  int64_t positions() const { return Ho * Wo; }
  bool is_pointwise() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0; }
  // Images per chunk so that cols holds at most ~16M values (64 MB in float).
  int64_t chunk() const { return std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(positions() * K(), 1), 1, N); }
};

// cols [n * Ho * Wo, K] <- the receptive fields of images x[0..n) (x points at the first one).
template <class T>
void im2col(const ConvGeometry& g, const T* x, int64_t n, T* cols) {
  const int64_t K = g.K();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * g.positions(); ++row) {
    const int64_t img = row / g.positions(), oh = (row / g.Wo) % g.Ho, ow = row % g.Wo;
    T* dst = cols + row * K;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.stride - g.pad + i;
      for (int64_t j = 0; j < g.kw; ++j, dst += g.Cin) {
        const int64_t iw = ow * g.stride - g.pad + j;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
          std::fill_n(dst, g.Cin, T(0));
        else
          std::memcpy(dst, x + ((img * g.H + ih) * g.W + iw) * g.Cin, g.Cin * sizeof(T));
      }
    }
  }
}

// dx += col2im(dcols): the transpose of im2col. Parallel over images, so no two threads write the
// same element.
template <class T>
void col2im_accumulate(const ConvGeometry& g, const T* dcols, int64_t n, T* dx) {
  const int64_t K = g.K();
#pragma omp parallel for schedule(static)
  for (int64_t img = 0; img < n; ++img) {
    for (int64_t p = 0; p < g.positions(); ++p) {
      const int64_t oh = p / g.Wo, ow = p % g.Wo;
      const T* src = dcols + (img * g.positions() + p) * K;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t ih = oh * g.stride - g.pad + i;
        for (int64_t j = 0; j < g.kw; ++j, src += g.Cin) {
          const int64_t iw = ow * g.stride - g.pad + j;
          if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
          T* dst = dx + ((img * g.H + ih) * g.W + iw) * g.Cin;
          for (int64_t c = 0; c < g.Cin; ++c) dst[c] += src[c];
        }
      }
    }
  }
}

template <class T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t K = g.K(), chunk = g.chunk();
  Tensor cols = Tensor::empty({g.is_pointwise() ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n = std::min(chunk, g.N - n0), rows = n * g.positions();
    const T* a = x + n0 * g.H * g.W * g.Cin;
    if (!g.is_pointwise()) {
      im2col(g, a, n, cols.data<T>());
      a = cols.data<T>();
    }
    T* out = y + n0 * g.positions() * g.Cout;
    if (b)
      for (int64_t r = 0; r < rows; ++r) std::copy_n(b, g.Cout, out + r * g.Cout);
    // out [rows, Cout] = cols [rows, K] @ w^T [K, Cout]
    blas::gemm(false, true, rows, g.Cout, K, T(1), a, K, w, K, T(b ? 1 : 0), out, g.Cout);
  }
}

// Accumulates dx, dw, db (each may be null when not wanted).
template <class T>
void conv_backward(const ConvGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t K = g.K(), chunk = g.chunk();
  const bool pointwise = g.is_pointwise();
  Tensor cols = Tensor::empty({pointwise || !dw ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  Tensor dcols = Tensor::empty({pointwise || !dx ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n = std::min(chunk, g.N - n0), rows = n * g.positions();
    const T* dy_chunk = dy + n0 * g.positions() * g.Cout;
    const T* x_chunk = x + n0 * g.H * g.W * g.Cin;
    if (dw) {
      const T* a = x_chunk;
      if (!pointwise) {
        im2col(g, x_chunk, n, cols.data<T>());
        a = cols.data<T>();
      }
      // dw [Cout, K] += dy^T [Cout, rows] @ cols [rows, K]
      blas::gemm(true, false, g.Cout, K, rows, T(1), dy_chunk, g.Cout, a, K, T(1), dw, K);
    }
    if (dx) {
      T* dx_chunk = dx + n0 * g.H * g.W * g.Cin;
      if (pointwise) {
        // dx [rows, Cin] += dy [rows, Cout] @ w [Cout, Cin]
        blas::gemm(false, false, rows, K, g.Cout, T(1), dy_chunk, g.Cout, w, K, T(1), dx_chunk, K);
      } else {
        // dcols [rows, K] = dy [rows, Cout] @ w [Cout, K], then scattered back onto the image
        blas::gemm(false, false, rows, K, g.Cout, T(1), dy_chunk, g.Cout, w, K, T(0), dcols.data<T>(), K);
        col2im_accumulate(g, dcols.data<T>(), n, dx_chunk);
      }
    }
    if (db)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < g.Cout; ++c) db[c] += dy_chunk[r * g.Cout + c];
  }
}

}  // namespace

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
#ifdef MM_WITH_CUDA
  const cuda::ConvShape shape{int(g.N), int(g.H), int(g.W), int(g.Cin), int(g.Cout), int(g.kh), int(g.kw),
                              int(g.stride), int(g.pad), int(g.Ho), int(g.Wo)};
#endif
  if (device.is_cuda()) {
    MM_CUDA_CALL({
      cuda::conv_forward(shape, x.data<float>(), w.data<float>(), y.data<float>());
      if (b.defined()) cuda::add_bias(y.data<float>(), b.data<float>(), g.N * g.Ho * g.Wo, g.Cout);
    });
  } else dispatch_floating(x.dtype(), "conv2d", [&](auto t) {
    using T = decltype(t);
    conv_forward<T>(g, x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, y.data<T>());
  });
  if (needs_grad({&x, &w, &b})) {
    record("conv2d", y, [=]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL({
          const float* dy = y.grad().data<float>();
          cuda::conv_backward(shape, x.data<float>(), w.data<float>(), dy,
                              x.requires_grad() ? x.grad_ref().data<float>() : nullptr,
                              w.requires_grad() ? w.grad_ref().data<float>() : nullptr);
          if (b.defined() && b.requires_grad())
            cuda::column_sums(dy, g.N * g.Ho * g.Wo, g.Cout, b.grad_ref().data<float>(), true);
        });
        return;
      }
      dispatch_floating(y.dtype(), "conv2d backward", [&](auto t) {
        using T = decltype(t);
        conv_backward<T>(g, x.data<T>(), w.data<T>(), y.grad().data<T>(),
                         x.requires_grad() ? x.grad_ref().data<T>() : nullptr,
                         w.requires_grad() ? w.grad_ref().data<T>() : nullptr,
                         b.defined() && b.requires_grad() ? b.grad_ref().data<T>() : nullptr);
      });
    });
  }
  return y;
}

}  // namespace mm
