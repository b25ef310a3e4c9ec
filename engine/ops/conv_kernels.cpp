// The convolution kernels: the dispatch to the device and the CPU's im2col + GEMM (GPU:
// engine/ops/conv.cu).
//
// With K = kh * kw * Cin, the weight [Cout, kh, kw, Cin] is a [Cout, K] matrix and im2col turns a
// chunk of images into cols [rows = n * Ho * Wo, K], one row per output position holding its
// receptive field in (i, j, c) order. Then y [rows, Cout] = cols @ w^T is already NHWC.
// Images are processed in chunks so that cols stays within a fixed budget of memory.
// A 1x1, stride-1, unpadded convolution needs no im2col: cols is x itself.
#include "engine/ops/conv_kernels.h"

#include <cstring>

#include "engine/blas.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise_kernels.h"

namespace mm::kernels {

namespace {

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
void conv_forward(const ConvGeometry& g, const T* x, const T* w, T* y) {
  const int64_t K = g.K(), chunk = g.chunk();
  Tensor cols = Tensor::empty({g.is_pointwise() ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n = std::min(chunk, g.N - n0), rows = n * g.positions();
    const T* a = x + n0 * g.H * g.W * g.Cin;
    if (!g.is_pointwise()) {
      im2col(g, a, n, cols.data<T>());
      a = cols.data<T>();
    }
    // out [rows, Cout] = cols [rows, K] @ w^T [K, Cout]
    blas::gemm(false, true, rows, g.Cout, K, T(1), a, K, w, K, T(0), y + n0 * g.positions() * g.Cout, g.Cout);
  }
}

// dw [Cout, K] (=|+=) dy^T [Cout, rows] @ cols [rows, K], chunk by chunk (the first chunk assigns
// unless accumulating; the rest add).
template <class T>
void conv_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
  const int64_t K = g.K(), chunk = g.chunk();
  Tensor cols = Tensor::empty({g.is_pointwise() ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n = std::min(chunk, g.N - n0), rows = n * g.positions();
    const T* a = x + n0 * g.H * g.W * g.Cin;
    if (!g.is_pointwise()) {
      im2col(g, a, n, cols.data<T>());
      a = cols.data<T>();
    }
    const T beta = accumulate || n0 > 0 ? T(1) : T(0);
    blas::gemm(true, false, g.Cout, K, rows, T(1), dy + n0 * g.positions() * g.Cout, g.Cout, a, K, beta, dw, K);
  }
}

// dx (=|+=) the transpose of the convolution applied to dy.
template <class T>
void conv_backward_input(const ConvGeometry& g, const T* w, const T* dy, T* dx, bool accumulate) {
  const int64_t K = g.K(), chunk = g.chunk();
  if (!accumulate && !g.is_pointwise()) std::fill_n(dx, g.N * g.H * g.W * g.Cin, T(0));  // col2im scatters
  Tensor dcols = Tensor::empty({g.is_pointwise() ? 0 : chunk * g.positions() * K}, dtype_of<T>());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n = std::min(chunk, g.N - n0), rows = n * g.positions();
    const T* dy_chunk = dy + n0 * g.positions() * g.Cout;
    T* dx_chunk = dx + n0 * g.H * g.W * g.Cin;
    if (g.is_pointwise()) {
      // dx [rows, Cin] (=|+=) dy [rows, Cout] @ w [Cout, Cin]
      blas::gemm(false, false, rows, K, g.Cout, T(1), dy_chunk, g.Cout, w, K, accumulate ? T(1) : T(0), dx_chunk, K);
    } else {
      // dcols [rows, K] = dy [rows, Cout] @ w [Cout, K], then scattered back onto the image
      blas::gemm(false, false, rows, K, g.Cout, T(1), dy_chunk, g.Cout, w, K, T(0), dcols.data<T>(), K);
      col2im_accumulate(g, dcols.data<T>(), n, dx_chunk);
    }
  }
}

#ifdef MM_WITH_ONEDNN
CpuConvolution chosen = CpuConvolution::OneDnn;
#else
CpuConvolution chosen = CpuConvolution::Gemm;
#endif

bool use_onednn(const Tensor& t) { return chosen == CpuConvolution::OneDnn && t.dtype() == DType::F32; }

// out (=|+=) what assign(destination) writes: straight into out, or into a scratch tensor then
// added (for oneDNN's primitives, which only assign).
template <class Assign>
void assign_or_add(Tensor& out, bool accumulate, Assign assign) {
  if (!accumulate) return assign(out.data<float>());
  Tensor scratch = Tensor::empty(out.shape(), out.dtype());
  assign(scratch.data<float>());
  axpy(1.0, scratch, out);
}

#ifdef MM_WITH_CUDA
// A GPU convolution through run(a, b, out) with the pointers of its storage type. cuDNN may offer
// no bfloat16 algorithm for some shape (a 3-channel stem is the likeliest; conv.cu says so once):
// that convolution then runs in float32 on widened copies and is rounded to bfloat16 once, as the
// CPU's bfloat16 path does. `out` is added to when accumulating, else assigned.
template <class Run>
void on_gpu(const ConvGeometry& g, const Tensor& a, const Tensor& b, Tensor& out, bool accumulate, Run run) {
  if (out.dtype() == DType::BF16 && !cuda::convolution_supported<bf16>(g)) {
    auto widened = [](const Tensor& t) {
      Tensor f = Tensor::empty(t.shape(), DType::F32, t.device());
      convert(t, f, /*accumulate=*/false);
      return f;
    };
    const Tensor a32 = widened(a), b32 = widened(b);
    Tensor out32 = accumulate ? widened(out) : Tensor::empty(out.shape(), DType::F32, out.device());
    run(a32.data<float>(), b32.data<float>(), out32.data<float>());
    return convert(out32, out, /*accumulate=*/false);
  }
  dispatch_storage(out.dtype(), "conv2d", [&](auto s) {
    using S = decltype(s);
    run(a.data<S>(), b.data<S>(), out.data<S>());
  });
}
#endif

}  // namespace

bool onednn_built() {
#ifdef MM_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}
CpuConvolution cpu_convolution() { return chosen; }
void set_cpu_convolution(CpuConvolution how) {
  MM_CHECK(how != CpuConvolution::OneDnn || onednn_built(),
           "this build has no oneDNN (Debian: libdnnl-dev; cmake -DMM_ONEDNN=ON)");
  chosen = how;
}
CpuConvolution parse_cpu_convolution(const std::string& name) {
  if (name == "gemm") return CpuConvolution::Gemm;
  if (name == "onednn") return CpuConvolution::OneDnn;
  throw Error(fmt::format("--cpu-conv: unknown CPU convolution '{}' (gemm or onednn)", name));
}
const char* cpu_convolution_name(CpuConvolution how) { return how == CpuConvolution::OneDnn ? "onednn" : "gemm"; }

void conv2d(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y) {
  if (y.device().is_cuda())
    return MM_CUDA_CALL(on_gpu(g, x, w, y, false, [&](auto* a, auto* b, auto* out) { cuda::conv2d(g, a, b, out); }));
  if (bf16_as_float32({&x, &w}, {&y}, [&](auto& in, auto& out) { conv2d(g, in[0], in[1], out[0]); })) return;
  if (use_onednn(y)) return MM_ONEDNN_CALL(onednn::conv2d(g, x.data<float>(), w.data<float>(), y.data<float>()));
  dispatch_floating(x.dtype(), "conv2d", [&](auto t) {
    using T = decltype(t);
    conv_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
  });
}

void conv2d_backward_input(const ConvGeometry& g, const Tensor& w, const Tensor& dy, Tensor& dx, bool accumulate) {
  if (dy.device().is_cuda())
    return MM_CUDA_CALL(on_gpu(g, w, dy, dx, accumulate, [&](auto* a, auto* b, auto* out) {
      cuda::conv2d_backward_input(g, a, b, out, accumulate);
    }));
  if (bf16_as_float32({&w, &dy}, {&dx}, [&](auto& in, auto& out) {
        conv2d_backward_input(g, in[0], in[1], out[0], accumulate);
      }))
    return;
  if (use_onednn(dy))
    return MM_ONEDNN_CALL(assign_or_add(
        dx, accumulate, [&](float* out) { onednn::conv2d_backward_input(g, w.data<float>(), dy.data<float>(), out); }));
  dispatch_floating(dy.dtype(), "conv2d backward", [&](auto t) {
    using T = decltype(t);
    conv_backward_input<T>(g, w.data<T>(), dy.data<T>(), dx.data<T>(), accumulate);
  });
}

void conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw, bool accumulate) {
  if (dy.device().is_cuda())
    return MM_CUDA_CALL(on_gpu(g, x, dy, dw, accumulate, [&](auto* a, auto* b, auto* out) {
      cuda::conv2d_backward_weight(g, a, b, out, accumulate);
    }));
  if (bf16_as_float32({&x, &dy}, {&dw}, [&](auto& in, auto& out) {
        conv2d_backward_weight(g, in[0], in[1], out[0], accumulate);
      }))
    return;
  if (use_onednn(dy))
    return MM_ONEDNN_CALL(assign_or_add(
        dw, accumulate, [&](float* out) { onednn::conv2d_backward_weight(g, x.data<float>(), dy.data<float>(), out); }));
  dispatch_floating(dy.dtype(), "conv2d backward", [&](auto t) {
    using T = decltype(t);
    conv_backward_weight<T>(g, x.data<T>(), dy.data<T>(), dw.data<T>(), accumulate);
  });
}

}  // namespace mm::kernels
