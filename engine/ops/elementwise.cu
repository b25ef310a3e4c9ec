// The CUDA twins of the element-wise kernels (engine/ops/elementwise_kernels.h): one thread per
// element, calling the functors of engine/ops/elementwise_math.h that the CPU loops call.
#include "engine/cuda/context.cuh"
#include "engine/ops/elementwise_kernels.h"

namespace mm::cuda {

namespace {
template <class F>
void unary_map(F f, const float* x, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = f(x[i]); });
}
template <class F>
void unary_backward_map(F f, const float* x, const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) {
    const float v = f.backward(x[i], y[i], dy[i]);
    dx[i] = accumulate ? dx[i] + v : v;  // a new gradient is not read
  });
}
template <class F>
void binary_map(F f, const float* a, const float* b, float* y, int64_t n, int64_t p) {
  map(n, [=] __device__(int64_t i) { y[i] = f(a[i], b[i % p]); });
}
template <class F>
void binary_backward_map(F f, const float* a, const float* b, const float* dy, float* da, bool accumulate_a, float* db,
                         bool accumulate_b, int64_t n, int64_t p) {
  // a new gradient (accumulate false) is assigned, not read
  if (da)
    map(n, [=] __device__(int64_t i) {
      const float v = f.da(a[i], b[i % p], dy[i]);
      da[i] = accumulate_a ? da[i] + v : v;
    });
  if (!db) return;
  if (p == n) {
    map(n, [=] __device__(int64_t i) {
      const float v = f.db(a[i], b[i], dy[i]);
      db[i] = accumulate_b ? db[i] + v : v;
    });
    return;
  }
  // broadcast b: each of its p values sums over the n / p rows (deterministic, in double)
  column_reduce(n / p, p, [=] __device__(int64_t r, int64_t k) { return double(f.db(a[r * p + k], b[k], dy[r * p + k])); },
                db, 1.0f, accumulate_b);
}
}  // namespace

void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  visit(op, [&](auto f) { unary_map(f, x, y, n); });
}
void unary_backward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n, bool accumulate) {
  visit(op, [&](auto f) { unary_backward_map(f, x, y, dy, dx, n, accumulate); });
}
void binary(BinaryOp op, const float* a, const float* b, float* y, int64_t n, int64_t p) {
  visit(op, [&](auto f) { binary_map(f, a, b, y, n, p); });
}
void binary_backward(BinaryOp op, const float* a, const float* b, const float* dy, float* da, bool accumulate_a, float* db,
                     bool accumulate_b, int64_t n, int64_t p) {
  visit(op, [&](auto f) { binary_backward_map(f, a, b, dy, da, accumulate_a, db, accumulate_b, n, p); });
}
void axpy(float alpha, const float* x, float* y, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) { y[i] = accumulate ? y[i] + alpha * x[i] : alpha * x[i]; });
}
void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t n, int64_t C) {
  map(n, [=] __device__(int64_t i) { y[i] = math::affine(x[i], scale[i % C], shift[i % C]); });
}
void channel_affine_backward(const float* dy, const float* scale, float* dx, int64_t n, int64_t C) {
  map(n, [=] __device__(int64_t i) { dx[i] += math::affine_backward(dy[i], scale[i % C]); });
}
void projected_sign_step(const float* x, const float* x0, const float* g, float step, float radius, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::projected_sign_step(x[i], x0[i], g[i], step, radius); });
}

}  // namespace mm::cuda
