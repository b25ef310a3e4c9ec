#pragma once
// The convolution kernels behind one device-neutral interface: on the CPU oneDNN (float32, when
// built with it: engine/ops/conv_onednn.cpp) or im2col + OpenBLAS (engine/ops/conv_kernels.cpp,
// float32 or float64), cuDNN on the GPU (engine/ops/conv.cu, plans
// chosen once per shape and cached).
#include <algorithm>
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace mm {

// The shapes of one convolution: x [N, H, W, Cin] (NHWC), w [Cout, kh, kw, Cin], y [N, Ho, Wo, Cout].
struct ConvGeometry {
  int64_t N, H, W, Cin, Cout, kh, kw, stride, pad, Ho, Wo;
  int64_t K() const { return kh * kw * Cin; }
  int64_t positions() const { return Ho * Wo; }
  bool is_pointwise() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0; }
  // Images per chunk of the CPU's im2col so that its columns hold at most ~16M values (64 MB in float).
  int64_t chunk() const { return std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(positions() * K(), 1), 1, N); }
};

namespace kernels {
// How the CPU runs float32 convolutions: oneDNN when the engine is built with it (the default then),
// or im2col + OpenBLAS GEMM, the readable reference (float64 always takes it).
enum class CpuConvolution { Gemm, OneDnn };
bool onednn_built();
CpuConvolution cpu_convolution();
// Throws when OneDnn is asked for and the engine was built without it.
void set_cpu_convolution(CpuConvolution how);
CpuConvolution parse_cpu_convolution(const std::string& name);  // "gemm" or "onednn"
const char* cpu_convolution_name(CpuConvolution how);

// y = conv(x, w) (no bias: the op adds it).
void conv2d(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y);
// The gradients, each added to its output (accumulate) or assigned to it (a new gradient):
// dx (=|+=) the gradient with respect to x (needs w), dw (=|+=) with respect to w (needs x).
void conv2d_backward_input(const ConvGeometry& g, const Tensor& w, const Tensor& dy, Tensor& dx, bool accumulate);
void conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw, bool accumulate);
}  // namespace kernels

namespace onednn {  // engine/ops/conv_onednn.cpp (float32, CPU)
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y);
// dx = the gradient with respect to x, dw = with respect to w (assigned: oneDNN's primitives
// overwrite their outputs; kernels:: adds them where a gradient accumulates)
void conv2d_backward_input(const ConvGeometry& g, const float* w, const float* dy, float* dx);
void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* dy, float* dw);
}  // namespace onednn

namespace cuda {
// S = float (TF32 tensor cores when allowed) or bf16 (bf16 tensor cores); cuDNN accumulates in float.
// Whether cuDNN offers an algorithm in storage S for every direction of this shape (when not,
// kernels:: runs a bf16 convolution in float32; the three below throw).
template <class S> bool convolution_supported(const ConvGeometry& g);
template <class S> void conv2d(const ConvGeometry& g, const S* x, const S* w, S* y);
template <class S> void conv2d_backward_input(const ConvGeometry& g, const S* w, const S* dy, S* dx, bool accumulate);
template <class S> void conv2d_backward_weight(const ConvGeometry& g, const S* x, const S* dy, S* dw, bool accumulate);
}  // namespace cuda

}  // namespace mm
