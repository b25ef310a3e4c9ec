// Group normalisation with its autograd. No device code: engine/ops/group_norm_kernels.h runs it.
#include "engine/ops/group_norm.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/group_norm_kernels.h"

namespace mm {

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, double eps) {
  MM_CHECK(x.ndim() >= 2, "group_norm: expected [N, ..., C], got {}", shape_str(x.shape()));
  const int64_t N = x.dim(0), C = x.dim(-1);
  MM_CHECK(groups >= 1 && C % groups == 0, "group_norm: {} channels do not split into {} groups", C, groups);
  check_shape(gamma, {C}, "group_norm weight");
  check_shape(beta, {C}, "group_norm bias");
  const Device device = common_device({&x, &gamma, &beta}, "group_norm");
  MM_CHECK(x.numel() / N / groups > 1, "group_norm: a group of {} needs more than one value", shape_str(x.shape()));
  // x and y may be bfloat16; the statistics, the parameters and their gradients are float32 then
  const DType stats = compute_dtype(x.dtype());
  MM_CHECK(gamma.dtype() == stats && beta.dtype() == stats, "group_norm: a {} input needs {} parameters, got {}",
           dtype_name(x.dtype()), dtype_name(stats), dtype_name(gamma.dtype()));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  Tensor mean = Tensor::empty({N, groups}, stats, device), invstd = Tensor::empty({N, groups}, stats, device);
  kernels::gn_statistics(x, groups, eps, mean, invstd);
  kernels::gn_apply(x, mean, invstd, gamma, beta, groups, y);
  if (needs_grad({&x, &gamma, &beta}))
    record("group_norm", y, [x, gamma, beta, y, mean, invstd, groups]() {
      Tensor dx = x.requires_grad() ? x.grad_ref() : Tensor(), dgamma = gamma.requires_grad() ? gamma.grad_ref() : Tensor(),
             dbeta = beta.requires_grad() ? beta.grad_ref() : Tensor();
      kernels::gn_backward(x, y.grad(), mean, invstd, gamma, groups, dx.defined() ? &dx : nullptr,
                           dgamma.defined() ? &dgamma : nullptr, dbeta.defined() ? &dbeta : nullptr);
    });
  return y;
}

}  // namespace mm
