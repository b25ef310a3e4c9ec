// The mixing ops with their autograd. Formulas in mixup/ops.h. No device code: the kernels of
// mixup/ops_kernels.h, engine/ops/matmul_kernels.h and engine/ops/loss_kernels.h run them.
#include "mixup/ops.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/loss_kernels.h"
#include "engine/ops/matmul_kernels.h"
#include "mixup/ops_kernels.h"
#include "mixup/samplers.h"

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
  Tensor inverse = Tensor::empty({perm.numel()}, DType::I64, perm.device());
  kernels::inverse_permutation(perm, inverse);
  return inverse;
}

}  // namespace

Tensor mix_pairs(const Tensor& x, const Tensor& perm, double lam) {
  return mix_pairs(x, perm, Tensor::scalar(lam, x.dtype(), x.device()));
}

Tensor mix_pairs(const Tensor& x, const Tensor& perm, const Tensor& lam) {
  MM_CHECK(x.ndim() >= 1, "mix_pairs: x must have a batch dimension");
  check_perm(perm, x.dim(0), "mix_pairs");
  MM_CHECK(lam.numel() == 1 && lam.dtype() == x.dtype(), "mix_pairs: lam must be one {} value, got {} {}",
           dtype_name(x.dtype()), dtype_name(lam.dtype()), shape_str(lam.shape()));
  const Device device = common_device({&x}, "mix_pairs");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  const Tensor p = perm.to(device), l = lam.to(device);  // where x lives (already there in training)
  kernels::mix_pairs(x, p, l, y);
  if (needs_grad({&x}))
    record("mix_pairs", y, [x, inverse = inverse_permutation(p), l, y]() {
      Tensor dx = x.grad_ref();
      kernels::mix_pairs_backward(y.grad(), inverse, l, dx);
    });
  return y;
}

Tensor cutmix_paste(const Tensor& x, const Tensor& perm, const Tensor& box) {
  MM_CHECK(x.ndim() == 4, "cutmix_paste: x must be [N, H, W, C], got {}", shape_str(x.shape()));
  check_perm(perm, x.dim(0), "cutmix_paste");
  MM_CHECK(box.dtype() == DType::I64 && box.shape() == Shape{4}, "cutmix_paste: box must be I64 [4]");
  if (box.device().is_cpu()) check_cutmix_box(box, x.dim(1), x.dim(2), "cutmix_paste");
  const Device device = common_device({&x}, "cutmix_paste");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  const Tensor p = perm.to(device), b = box.to(device);  // where x lives (already there in training)
  kernels::cutmix_paste(x, p, b, y);
  if (needs_grad({&x}))
    record("cutmix_paste", y, [x, y, p, b]() {
      Tensor dx = x.grad_ref();
      kernels::cutmix_paste_backward(y.grad(), p, b, dx);
    });
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
      // dz [m, d] (+)= lambda [m, n] @ dout [n, d]: assigned when new (beta 0), else added to
      auto dz = z.grad_to_write();
      kernels::gemm(false, false, m, d, n, 1.0, {lambda, 0, n}, {out.grad(), 0, d}, dz.accumulate ? 1.0 : 0.0, {dz.tensor, 0, d});
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
      // dz[:, j, :] [m, d] (+)= weights[j] [m, n] @ dout[j] [n, d]: assigned when new (beta 0), else added to
      auto dz = z.grad_to_write();
      kernels::gemm(false, false, m, d, n, 1.0, {weights, 0, n, mn}, {out.grad(), 0, d, nd}, dz.accumulate ? 1.0 : 0.0,
                    {dz.tensor, 0, r * d, d}, r);
    });
  }
  return out;
}

Tensor mix_labels(const Tensor& labels, int64_t classes, const Tensor& weights) {
  MM_CHECK(labels.ndim() == 1 && labels.dtype() == DType::I64 && weights.ndim() == 3 && weights.dim(1) == labels.dim(0),
           "mix_labels: labels {} {} and weights {} do not fit (I64 [m] and [r, m, n])", dtype_name(labels.dtype()),
           shape_str(labels.shape()), shape_str(weights.shape()));
  MM_CHECK(classes >= 1, "mix_labels: {} classes", classes);
  MM_CHECK(!needs_grad({&weights}), "mix_labels: the weights must be constants (no gradient flows to them)");
  const Device device = common_device({&weights}, "mix_labels");
  Tensor out = Tensor::empty({weights.dim(0), weights.dim(2), classes}, weights.dtype(), device);
  kernels::mix_labels(labels.to(device), weights, out);  // labels are moved where the weights are
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
  if (weights.device().is_cpu())  // free to check on the host
    for (double w : weights.to_doubles()) MM_CHECK(w >= 0, "dense_soft_cross_entropy: negative weight {}", w);
  // row q = j n + k of the [r n, c] rows weighs s_jk / (r sum_k s_jk) (math::dense_row_coefficients)
  Tensor coef = Tensor::empty({r * n}, logits.dtype(), device);
  kernels::dense_row_coefficients(weights, coef);
  const Tensor z = logits.view({r * n, c}), t = targets.view({r * n, c});
  Tensor y = Tensor::empty({}, logits.dtype(), device);
  kernels::softmax_xent(z, t, coef, y);
  if (needs_grad({&logits}))
    record("dense_soft_cross_entropy", y, [logits, t, coef, y, r, n, c]() {
      auto g = logits.grad_to_write();  // assigned when new, else added to
      Tensor dz = g.tensor.view({r * n, c});
      kernels::softmax_xent_backward(logits.view({r * n, c}), t, coef, y.grad(), dz, g.accumulate);
    });
  return y;
}

}  // namespace mm
