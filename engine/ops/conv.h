#pragma once
// 2-D convolution: the contract. Kernels: engine/ops/conv_kernels.h; autograd: engine/ops/conv.cpp.
#include "engine/tensor.h"

namespace mm {

// x: [N, H, W, Cin] (NHWC), w: [Cout, kh, kw, Cin], b: [Cout] or undefined
//   -> y: [N, Ho, Wo, Cout], Ho = (H + 2 pad - kh) / stride + 1 (likewise Wo), zero padding.
//   dw = dy^T im2col(x),  dx = col2im(dy w),  db = sum over N, Ho, Wo of dy.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad);

}  // namespace mm
