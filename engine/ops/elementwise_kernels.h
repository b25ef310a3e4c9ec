#pragma once
// The element-wise kernels behind one device-neutral interface (mm::kernels): each function runs
// on the device its tensors live on, the CPU loop (engine/ops/elementwise_kernels.cpp, float32 or
// float64) or the CUDA kernel (mm::cuda below, engine/ops/elementwise.cu, float32). The autograd
// wrappers (engine/ops/elementwise.cpp) call only these. "Accumulate" means +=.
#include <cstdint>

#include "engine/ops/elementwise_math.h"
#include "engine/tensor.h"

namespace mm::kernels {

// x, y: n elements. y = f(x); backward: dx += f'(x) dy (dx = f'(x) dy when not accumulating: a new gradient).
void unary(UnaryOp op, const Tensor& x, Tensor& y);
void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, bool accumulate);

// a, y: n elements; b: period p elements, p dividing n, broadcast over the leading dimensions
// (p = n: the same shape; p = C: one value per channel of the last dimension). y_i = f(a_i, b_{i mod p}).
// backward: da_i += df/da dy_i; db_k += sum over i = k mod p of df/db dy_i (each assigned instead
// when its accumulate flag is false). da or db may be null; when they are the same tensor, da is
// written before db.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y);
void binary_backward(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor* da, bool accumulate_a,
                     Tensor* db, bool accumulate_b);

// y += alpha x (same numel); with accumulate false, y = alpha x.
void axpy(double alpha, const Tensor& x, Tensor& y, bool accumulate = true);

// y (=|+=) x in y's dtype, float32 <-> bfloat16 (same numel): the sum taken in float32, then rounded
// once to y's dtype (engine/bf16.h).
void convert(const Tensor& x, Tensor& y, bool accumulate);

// x [..., C], scale and shift [C]: y = math::affine(x, scale[c], shift[c]); dx += dy scale[c].
void channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift, Tensor& y);
void channel_affine_backward(const Tensor& dy, const Tensor& scale, Tensor& dx);

// y = math::projected_sign_step(x, x0, g, step, radius) element-wise.
void projected_sign_step(const Tensor& x, const Tensor& x0, const Tensor& g, double step, double radius, Tensor& y);

}  // namespace mm::kernels

namespace mm::cuda {
// The CUDA twins, on raw device pointers (n elements; p as above). S, the storage type, is float
// or bf16: values are loaded as float, computed in float and rounded once when stored.
template <class S> void unary(UnaryOp op, const S* x, S* y, int64_t n);
template <class S>
void unary_backward(UnaryOp op, const S* x, const S* y, const S* dy, S* dx, int64_t n, bool accumulate);
template <class S> void binary(BinaryOp op, const S* a, const S* b, S* y, int64_t n, int64_t p);
template <class S>
void binary_backward(BinaryOp op, const S* a, const S* b, const S* dy, S* da, bool accumulate_a, S* db, bool accumulate_b,
                     int64_t n, int64_t p);
template <class S> void axpy(float alpha, const S* x, S* y, int64_t n, bool accumulate);
void convert(const float* x, bf16* y, int64_t n, bool accumulate);
void convert(const bf16* x, float* y, int64_t n, bool accumulate);
void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t n, int64_t C);
void channel_affine_backward(const float* dy, const float* scale, float* dx, int64_t n, int64_t C);
void projected_sign_step(const float* x, const float* x0, const float* g, float step, float radius, float* y, int64_t n);
}  // namespace mm::cuda
