#pragma once
// The pooling kernels behind one device-neutral interface (CPU: engine/ops/pool_kernels.cpp;
// GPU: mm::cuda below, engine/ops/pool.cu). x [N, H, W, C], y [N, H/kh, W/kw, C].
#include "engine/tensor.h"

namespace mm::kernels {
// y = the mean of each kh x kw window; backward: dx += dy / (kh kw) over each window.
void window_mean(const Tensor& x, int kh, int kw, Tensor& y);
void window_mean_backward(const Tensor& dy, int kh, int kw, Tensor& dx);
}  // namespace mm::kernels

namespace mm::cuda {
void window_mean(const float* x, int N, int H, int W, int C, int kh, int kw, float* y);
void window_mean_backward(const float* dy, int N, int H, int W, int C, int kh, int kw, float* dx);
}  // namespace mm::cuda
