// CPU implementations of the mixing ops. Formulas in mixup/ops.h; shared arithmetic in
// mixup/mix_math.h and engine/math.h.
#include "mixup/ops.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops/matmul_kernels.h"
#include "mixup/mix_math.h"
#include "mixup/samplers.h"
#ifdef MM_WITH_CUDA
#include "mixup/cuda/kernels.h"
#endif

namespace mm {

namespace {

// The draws are checked where that is free, on the host. On the GPU they are trusted: they come
// from the samplers (permutations and boxes by construction) or from read_draws, which checks them
// before they move (a check there would stop the step to copy them back).
void check_perm(const Tensor& perm, int64_t N, const char* op) {
  MM_CHECK(perm.dtype() == DType::I64 && perm.shape() == Shape{N}, "{}: perm must be I64 [{}], got {} {}", op, N,
           dtype_name(perm.dtype()), shape_str(perm.shape()));
  if (perm.device().is_cpu()) check_permutation(perm, N, op);
}

// inverse[perm[k]] = k, on perm's device.
Tensor inverse_permutation(const Tensor& perm) {
  const int64_t N = perm.numel();
  Tensor inverse = Tensor::empty({N}, DType::I64, perm.device());
  if (perm.device().is_cuda()) {
    MM_CUDA_CALL(cuda::inverse_permutation(perm.data<int64_t>(), N, inverse.data<int64_t>()));
    return inverse;
  }
  for (int64_t k = 0; k < N; ++k) inverse.data<int64_t>()[perm.data<int64_t>()[k]] = k;
  return inverse;
}

}  // namespace

Tensor mix_pairs(const Tensor& x, const Tensor& perm, double lam) {
  return mix_pairs(x, perm, Tensor::scalar(lam, x.dtype(), x.device()));
}

Tensor mix_pairs(const Tensor& x, const Tensor& perm, const Tensor& lam) {
  MM_CHECK(x.ndim() >= 1, "mix_pairs: x must have a batch dimension");
  const int64_t N = x.dim(0), row = x.numel() / std::max<int64_t>(N, 1);
  check_perm(perm, N, "mix_pairs");
  MM_CHECK(lam.numel() == 1 && (lam.dtype() == DType::F32 || lam.dtype() == DType::F64),
           "mix_pairs: lam must be one floating value, got {} {}", dtype_name(lam.dtype()), shape_str(lam.shape()));
  const Device device = common_device({&x}, "mix_pairs");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  const Tensor p = perm.to(device), l = lam.to(device);  // where x lives (already there in training)
  // Row i receives lam dy_i from itself and (1 - lam) dy_k from the k with perm(k) = i; looping over
  // destinations in the backward keeps each thread's (or GPU thread's) writes to its own elements.
  const bool grad = needs_grad({&x});
  if (device.is_cuda()) {
    MM_CHECK(l.dtype() == DType::F32, "mix_pairs: lam must be F32 on the GPU");
    MM_CUDA_CALL(cuda::mix_pairs(x.data<float>(), p.data<int64_t>(), l.data<float>(), N, row, y.data<float>()));
    if (grad)
      record("mix_pairs", y, [x, inverse = inverse_permutation(p), l, y, N, row]() {
        MM_CUDA_CALL(cuda::mix_pairs_backward(y.grad().data<float>(), inverse.data<int64_t>(), l.data<float>(), N, row,
                                              x.grad_ref().data<float>()));
      });
    return y;
  }
  const double lv = l.item();
  const int64_t* pp = p.data<int64_t>();
  dispatch_floating(x.dtype(), "mix_pairs", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t e = 0; e < row; ++e) py[i * row + e] = math::lerp(px[i * row + e], px[pp[i] * row + e], T(lv));
  });
  if (grad) {
    record("mix_pairs", y, [x, inverse_here = inverse_permutation(p), y, lv, N, row]() {
      const int64_t* inverse = inverse_here.data<int64_t>();
      dispatch_floating(x.dtype(), "mix_pairs backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        T* dx = x.grad_ref().data<T>();
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < N; ++i)
          for (int64_t e = 0; e < row; ++e)
            dx[i * row + e] += math::lerp(dy[i * row + e], dy[inverse[i] * row + e], T(lv));
      });
    });
  }
  return y;
}

Tensor cutmix_paste(const Tensor& x, const Tensor& perm, const Tensor& box) {
  MM_CHECK(x.ndim() == 4, "cutmix_paste: x must be [N, H, W, C], got {}", shape_str(x.shape()));
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  check_perm(perm, N, "cutmix_paste");
  MM_CHECK(box.dtype() == DType::I64 && box.shape() == Shape{4}, "cutmix_paste: box must be I64 [4]");
  if (box.device().is_cpu()) check_cutmix_box(box, H, W, "cutmix_paste");
  const Device device = common_device({&x}, "cutmix_paste");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  const Tensor p = perm.to(device), b = box.to(device);  // where x lives (already there in training)
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::cutmix_paste(x.data<float>(), p.data<int64_t>(), b.data<int64_t>(), N, H, W, C, y.data<float>()));
    if (needs_grad({&x}))
      record("cutmix_paste", y, [x, y, p, b, N, H, W, C]() {
        MM_CUDA_CALL(cuda::cutmix_paste_backward(y.grad().data<float>(), p.data<int64_t>(), b.data<int64_t>(), N, H, W,
                                                 C, x.grad_ref().data<float>()));
      });
    return y;
  }
  // source(i, y, x) = the example the value at (i, y, x) comes from
  const std::vector<long long> bx(b.data<int64_t>(), b.data<int64_t>() + 4);
  auto source = [pp = p.data<int64_t>(), p, bx](int64_t i, int64_t yy, int64_t xx) {
    return math::in_box(yy, xx, bx.data()) ? pp[i] : i;
  };
  dispatch_floating(x.dtype(), "cutmix_paste", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t yy = 0; yy < H; ++yy)
        for (int64_t xx = 0; xx < W; ++xx)
          std::copy_n(px + ((source(i, yy, xx) * H + yy) * W + xx) * C, C, py + ((i * H + yy) * W + xx) * C);
  });
  if (needs_grad({&x})) {
    record("cutmix_paste", y, [x, y, source, N, H, W, C]() {
      dispatch_floating(x.dtype(), "cutmix_paste backward", [&](auto t) {
        using T = decltype(t);
        const T* dy = y.grad().data<T>();
        T* dx = x.grad_ref().data<T>();
        // Each input value goes to exactly one output value, so the scatter has no collisions.
        for (int64_t i = 0; i < N; ++i)
          for (int64_t yy = 0; yy < H; ++yy)
            for (int64_t xx = 0; xx < W; ++xx) {
              T* d = dx + ((source(i, yy, xx) * H + yy) * W + xx) * C;
              const T* g = dy + ((i * H + yy) * W + xx) * C;
              for (int64_t c = 0; c < C; ++c) d[c] += g[c];
            }
      });
    });
  }
  return y;
}

Tensor interpolate(const Tensor& z, const Tensor& lambda) {
  MM_CHECK(z.ndim() == 2 && lambda.ndim() == 2 && lambda.dim(0) == z.dim(0),
           "interpolate: z {} and lambda {} do not fit ([m, d] and [m, n])", shape_str(z.shape()),
           shape_str(lambda.shape()));
  MM_CHECK(z.dtype() == lambda.dtype(), "interpolate: z and lambda differ in dtype");
  const Device device = common_device({&z, &lambda}, "interpolate");
  const int m = z.dim(0), d = z.dim(1), n = lambda.dim(1);
  Tensor out = Tensor::empty({n, d}, z.dtype(), device);
  // out [n, d] = lambda^T [n, m] @ z [m, d]
  kernels::gemm(true, false, n, d, m, 1.0, {lambda, 0, n}, {z, 0, d}, 0.0, {out, 0, d});
  if (needs_grad({&z})) {
    record("interpolate", out, [z, lambda, out, m, d, n]() {
      // dz [m, d] += lambda [m, n] @ dout [n, d]
      kernels::gemm(false, false, m, d, n, 1.0, {lambda, 0, n}, {out.grad(), 0, d}, 1.0, {z.grad_ref(), 0, d});
    });
  }
  return out;
}

Tensor interpolate_positions(const Tensor& z, const Tensor& weights) {
  MM_CHECK(z.ndim() == 3 && weights.ndim() == 3 && weights.dim(0) == z.dim(1) && weights.dim(1) == z.dim(0),
           "interpolate_positions: z {} and weights {} do not fit ([m, r, d] and [r, m, n])", shape_str(z.shape()),
           shape_str(weights.shape()));
  MM_CHECK(z.dtype() == weights.dtype(), "interpolate_positions: z and weights differ in dtype");
  const Device device = common_device({&z, &weights}, "interpolate_positions");
  const int m = z.dim(0), r = z.dim(1), d = z.dim(2), n = weights.dim(2);
  Tensor out = Tensor::empty({r, n, d}, z.dtype(), device);
  // per position j (a batch of r GEMMs): out[j] [n, d] = weights[j]^T [n, m] @ z[:, j, :] [m, d] (row stride r d)
  const int64_t mn = int64_t(m) * n, nd = int64_t(n) * d;
  kernels::gemm(true, false, n, d, m, 1.0, {weights, 0, n, mn}, {z, 0, r * d, d}, 0.0, {out, 0, d, nd}, r);
  if (needs_grad({&z})) {
    record("interpolate_positions", out, [z, weights, out, m, r, d, n, mn, nd]() {
      // dz[:, j, :] [m, d] += weights[j] [m, n] @ dout[j] [n, d]
      kernels::gemm(false, false, m, d, n, 1.0, {weights, 0, n, mn}, {out.grad(), 0, d, nd}, 1.0, {z.grad_ref(), 0, r * d, d}, r);
    });
  }
  return out;
}

Tensor dense_soft_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& weights) {
  MM_CHECK(logits.ndim() == 3, "dense_soft_cross_entropy: logits must be [r, n, c], got {}", shape_str(logits.shape()));
  check_shape(targets, logits.shape(), "dense_soft_cross_entropy targets");
  check_shape(weights, {logits.dim(0), logits.dim(1)}, "dense_soft_cross_entropy weights");
  MM_CHECK(targets.dtype() == logits.dtype() && weights.dtype() == logits.dtype(),
           "dense_soft_cross_entropy: dtypes differ");
  const Device device = common_device({&logits, &targets, &weights}, "dense_soft_cross_entropy");
  const int64_t r = logits.dim(0), n = logits.dim(1), c = logits.dim(2);
  if (device.is_cuda()) {
    // everything stays on the GPU: coefficients, row losses, their sum
    Tensor coef = Tensor::empty({r * n}, DType::F32, device);
    Tensor rows = Tensor::empty({r * n}, DType::F32, device), y = Tensor::empty({}, DType::F32, device);
    MM_CUDA_CALL({
      cuda::dense_row_coefficients(weights.data<float>(), r, n, coef.data<float>());
      cuda::weighted_xent_rows(logits.data<float>(), targets.data<float>(), coef.data<float>(), r * n, c, rows.data<float>());
      cuda::sum(rows.data<float>(), r * n, 1.0f, y.data<float>());
    });
    if (needs_grad({&logits}))
      record("dense_soft_cross_entropy", y, [logits, targets, coef, y, r, n, c]() {
        MM_CUDA_CALL(cuda::weighted_xent_backward(logits.data<float>(), targets.data<float>(), coef.data<float>(), r * n,
                                                  c, y.grad().data<float>(), logits.grad_ref().data<float>()));
      });
    return y;
  }
  std::vector<double> coef(r * n, 0.0);
  dispatch_floating(logits.dtype(), "dense_soft_cross_entropy", [&](auto t) {
    using T = decltype(t);
    const T* s = weights.data<T>();
    for (int64_t q = 0; q < r * n; ++q) MM_CHECK(s[q] >= 0, "dense_soft_cross_entropy: negative weight");
    for (int64_t j = 0; j < r; ++j)
      math::dense_row_coefficients(s + j * n, static_cast<int>(n), static_cast<int>(r), coef.data() + j * n);
  });
  // H of row q (= j * n + k) in double, with its gradient when grad != nullptr
  auto row_loss = [logits, targets, c](int64_t q, double* grad) {
    std::vector<double> z(c), tt(c);
    dispatch_floating(logits.dtype(), "dense_soft_cross_entropy", [&](auto t) {
      using T = decltype(t);
      for (int64_t e = 0; e < c; ++e) z[e] = logits.data<T>()[q * c + e], tt[e] = targets.data<T>()[q * c + e];
    });
    return math::softmax_xent_row<double>(z.data(), tt.data(), static_cast<int>(c), grad);
  };
  const double loss = parallel_sums(r * n, 1, [&](int64_t q, double* slot) {
    if (coef[q] > 0) slot[0] += coef[q] * row_loss(q, nullptr);
  })[0];
  MM_CHECK(std::isfinite(loss), "dense_soft_cross_entropy: the loss is {} (non-finite logits?)", loss);
  Tensor y = Tensor::scalar(loss, logits.dtype());
  if (needs_grad({&logits})) {
    record("dense_soft_cross_entropy", y, [logits, y, coef, row_loss, r, n, c]() {
      const double dy = y.grad().item();
      accumulate_row_gradients(logits, r * n, c, row_loss, [&](int64_t q) { return dy * coef[q]; });
    });
  }
  return y;
}

}  // namespace mm
