#pragma once
// Element-wise ops: the contract. Shapes, the forward formula and the backward; every backward
// accumulates into the inputs' gradients. Per-element math: engine/ops/elementwise_math.h;
// kernels (CPU and CUDA, reached through engine/ops/elementwise_kernels.h); autograd:
// engine/ops/elementwise.cpp.
#include "engine/tensor.h"

namespace mm {

// a, b: same shape and dtype -> same shape.
// add: y = a + b;  da = dy, db = dy          sub: y = a - b;  da = dy, db = -dy
// mul: y = a b;    da = dy b, db = dy a      div: y = a / b;  da = dy / b, db = -dy a / b^2
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// y = s a;  da = s dy
Tensor scale(const Tensor& a, double s);

// x: any -> same shape.
// relu: y = max(x, 0); dx = dy where y > 0 (0 at the kink, as PyTorch)
// exp: y = e^x; dx = dy y           log: y = ln x; dx = dy / x
// sqrt: y = x^(1/2); dx = dy / (2 y)   rsqrt: y = x^(-1/2); dx = -dy y^3 / 2
Tensor relu(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);

// x -> the same values in `dtype`, float32 <-> bfloat16 (rounded to nearest even, engine/bf16.h);
// x itself when it has that dtype already.  dx (+)= dy converted to x's dtype.
// How a network computes in bfloat16 (models/network.h): its input, its weights and its output
// pass through cast, and the float32 weights get float32 gradients.
Tensor cast(const Tensor& x, DType dtype);

// Same data, new shape (same numel).  dx = dy viewed as x's shape
Tensor reshape(const Tensor& x, const Shape& shape);

// Per-channel broadcast over the last dimension: x [..., C], v [C] -> [..., C] (c the last index).
// channel_add: y = x + v[c];   dx = dy, dv[c] = sum over the other dimensions of dy
// channel_mul: y = x v[c];     dx = dy v[c], dv[c] = sum of dy x
Tensor channel_add(const Tensor& x, const Tensor& v);
Tensor channel_mul(const Tensor& x, const Tensor& v);
// x [..., C], scale and shift [C] constants (no gradient) -> y = x scale[c] + shift[c] (normalising
// pixels, data/augment.h).   dx = dy scale[c]
Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift);

// Not differentiable (an attack's update, models/attacks.h). x, x0, g: same shape, values in pixel
// space -> clip(clip(x + step sign(g), x0 - radius, x0 + radius), 0, 1) (math::projected_sign_step).
Tensor projected_sign_step(const Tensor& x, const Tensor& x0, const Tensor& g, double step, double radius);

}  // namespace mm
