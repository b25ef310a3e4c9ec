#pragma once
// The fully connected op: the contract. Kernels: engine/ops/matmul_kernels.h; autograd:
// engine/ops/linear.cpp.
#include "engine/tensor.h"

namespace mm {

// x: [N, in], w: [out, in], b: [out] or undefined -> y: [N, out],  y = x w^T + b
//   dx = dy w,  dw = dy^T x,  db = sum_N dy
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

}  // namespace mm
