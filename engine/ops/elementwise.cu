// The CUDA twins of the element-wise kernels (engine/ops/elementwise_kernels.h): one thread per
// element, calling the functors of engine/ops/elementwise_math.h that the CPU loops call.
#include "engine/cuda/context.cuh"
#include "engine/ops/elementwise_kernels.h"

namespace mm::cuda {

namespace {
// S: float or bf16 storage; every value is computed in float and rounded once when stored
template <class F, class S>
void unary_map(F f, const S* x, S* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = S(f(float(x[i]))); });
}
template <class F, class S>
void unary_backward_map(F f, const S* x, const S* y, const S* dy, S* dx, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) {
    const float v = f.backward(float(x[i]), float(y[i]), float(dy[i]));
    dx[i] = S(accumulate ? float(dx[i]) + v : v);  // a new gradient is not read
  });
}
template <class F, class S>
void binary_map(F f, const S* a, const S* b, S* y, int64_t n, int64_t p) {
  map_columns(n, p, [=] __device__(int64_t i, int64_t k) { y[i] = S(f(float(a[i]), float(b[k]))); });
}
template <class F, class S>
void binary_backward_map(F f, const S* a, const S* b, const S* dy, S* da, bool accumulate_a, S* db, bool accumulate_b,
                         int64_t n, int64_t p) {
  // a new gradient (accumulate false) is assigned, not read
  if (da)
    map_columns(n, p, [=] __device__(int64_t i, int64_t k) {
      const float v = f.da(float(a[i]), float(b[k]), float(dy[i]));
      da[i] = S(accumulate_a ? float(da[i]) + v : v);
    });
  if (!db) return;
  if (p == n) {
    map(n, [=] __device__(int64_t i) {
      const float v = f.db(float(a[i]), float(b[i]), float(dy[i]));
      db[i] = S(accumulate_b ? float(db[i]) + v : v);
    });
    return;
  }
  // broadcast b: each of its p values sums over the n / p rows (deterministic, in double)
  column_reduce(n / p, p, [=] __device__(int64_t r, int64_t k) {
    return double(f.db(float(a[r * p + k]), float(b[k]), float(dy[r * p + k])));
  }, db, 1.0f, accumulate_b);
}
}  // namespace

template <class S>
void unary(UnaryOp op, const S* x, S* y, int64_t n) {
  visit(op, [&](auto f) { unary_map(f, x, y, n); });
}
template <class S>
void unary_backward(UnaryOp op, const S* x, const S* y, const S* dy, S* dx, int64_t n, bool accumulate) {
  visit(op, [&](auto f) { unary_backward_map(f, x, y, dy, dx, n, accumulate); });
}
template <class S>
void binary(BinaryOp op, const S* a, const S* b, S* y, int64_t n, int64_t p) {
  visit(op, [&](auto f) { binary_map(f, a, b, y, n, p); });
}
template <class S>
void binary_backward(BinaryOp op, const S* a, const S* b, const S* dy, S* da, bool accumulate_a, S* db, bool accumulate_b,
                     int64_t n, int64_t p) {
  visit(op, [&](auto f) { binary_backward_map(f, a, b, dy, da, accumulate_a, db, accumulate_b, n, p); });
}
template <class S>
void axpy(float alpha, const S* x, S* y, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) { y[i] = S(accumulate ? float(y[i]) + alpha * float(x[i]) : alpha * float(x[i])); });
}
#define MM_INSTANTIATE(S)                                                                                            \
  template void unary<S>(UnaryOp, const S*, S*, int64_t);                                                            \
  template void unary_backward<S>(UnaryOp, const S*, const S*, const S*, S*, int64_t, bool);                          \
  template void binary<S>(BinaryOp, const S*, const S*, S*, int64_t, int64_t);                                       \
  template void binary_backward<S>(BinaryOp, const S*, const S*, const S*, S*, bool, S*, bool, int64_t, int64_t);      \
  template void axpy<S>(float, const S*, S*, int64_t, bool);
MM_INSTANTIATE(float)
MM_INSTANTIATE(bf16)
#undef MM_INSTANTIATE

void convert(const float* x, bf16* y, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) { y[i] = bf16(accumulate ? float(y[i]) + x[i] : x[i]); });
}
void convert(const bf16* x, float* y, int64_t n, bool accumulate) {
  map(n, [=] __device__(int64_t i) { y[i] = accumulate ? y[i] + float(x[i]) : float(x[i]); });
}

void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t n, int64_t C) {
  map_columns(n, C, [=] __device__(int64_t i, int64_t c) { y[i] = math::affine(x[i], scale[c], shift[c]); });
}
void channel_affine_backward(const float* dy, const float* scale, float* dx, int64_t n, int64_t C) {
  map_columns(n, C, [=] __device__(int64_t i, int64_t c) { dx[i] += math::affine_backward(dy[i], scale[c]); });
}
void projected_sign_step(const float* x, const float* x0, const float* g, float step, float radius, float* y, int64_t n) {
  map(n, [=] __device__(int64_t i) { y[i] = math::projected_sign_step(x[i], x0[i], g[i], step, radius); });
}

}  // namespace mm::cuda
