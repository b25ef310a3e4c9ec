// Batch normalisation with its autograd. No device code: engine/ops/batchnorm_kernels.h runs it.
#include "engine/ops/batchnorm.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/distributed.h"
#include "engine/ops/batchnorm_kernels.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/elementwise_kernels.h"

namespace mm {

namespace {
const Communicator* sync_ranks = nullptr;

// The ranks' batch statistics (M values per channel each) made the statistics of their union.
void combine_statistics(const Communicator& ranks, Tensor& mean, Tensor& var) {
  NoGrad no_grad;
  Tensor global_mean = mean.clone();
  ranks.average(global_mean);
  const Tensor offset = sub(mean, global_mean);
  Tensor global_var = add(var, mul(offset, offset));
  ranks.average(global_var);
  mean = global_mean;
  var = global_var;
}
}  // namespace

void set_batch_norm_sync(const Communicator* ranks) { sync_ranks = ranks; }

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormBuffers& buffers,
                  bool training, double momentum, double eps, bool relu) {
  MM_CHECK(x.ndim() == 2 || x.ndim() == 4, "batch_norm: expected [N, C] or [N, H, W, C], got {}", shape_str(x.shape()));
  const int64_t C = x.dim(-1), M = x.numel() / C;
  check_shape(gamma, {C}, "batch_norm weight");
  check_shape(beta, {C}, "batch_norm bias");
  check_shape(buffers.running_mean, {C}, "batch_norm running_mean");
  check_shape(buffers.running_var, {C}, "batch_norm running_var");
  const Device device =
      common_device({&x, &gamma, &beta, &buffers.running_mean, &buffers.running_var}, "batch_norm");
  MM_CHECK(!training || M > 1, "batch_norm: training needs more than one value per channel, got {}", shape_str(x.shape()));
  // x and y may be bfloat16; the statistics, the parameters and their gradients are float32 then
  const DType stats = compute_dtype(x.dtype());
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &buffers.running_mean, &buffers.running_var})
    MM_CHECK(t->dtype() == stats, "batch_norm: a {} input needs {} parameters and statistics, got {}", dtype_name(x.dtype()),
             dtype_name(stats), dtype_name(t->dtype()));

  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  Tensor mean = Tensor::empty({C}, stats, device), invstd = Tensor::empty({C}, stats, device);
  if (training) {
    Tensor var = Tensor::empty({C}, stats, device);
    kernels::bn_statistics(x, mean, var);
    if (sync_ranks) combine_statistics(*sync_ranks, mean, var);
    kernels::bn_invstd(var, eps, invstd);
    kernels::bn_update_running(buffers, mean, var, sync_ranks ? M * sync_ranks->size() : M, momentum);
  } else {
    mean.copy_from(buffers.running_mean);
    kernels::bn_invstd(buffers.running_var, eps, invstd);
  }
  kernels::bn_apply(x, mean, invstd, gamma, beta, relu, y);

  if (needs_grad({&x, &gamma, &beta})) {
    const Communicator* ranks = training ? sync_ranks : nullptr;
    record(relu ? "batch_norm_relu" : "batch_norm", y, [x, gamma, beta, y, mean, invstd, training, C, ranks, relu]() {
      Tensor sum_dy = Tensor::empty({C}, mean.dtype(), y.device()), sum_dy_xhat = Tensor::empty({C}, mean.dtype(), y.device());
      const Tensor relu_out = relu ? y : Tensor();  // the ReLU's mask: y > 0
      kernels::bn_backward_sums(x, y.grad(), relu_out, mean, invstd, sum_dy, sum_dy_xhat);
      // each gradient assigned when new, else added to (Tensor::grad_to_write)
      if (gamma.requires_grad()) {
        auto dgamma = gamma.grad_to_write();
        kernels::axpy(1.0, sum_dy_xhat, dgamma.tensor, dgamma.accumulate);
      }
      if (beta.requires_grad()) {
        auto dbeta = beta.grad_to_write();
        kernels::axpy(1.0, sum_dy, dbeta.tensor, dbeta.accumulate);
      }
      if (ranks) {  // dx of the whole batch: the sums over all ranks, scaled to this rank's M (1/K)
        ranks->average(sum_dy);
        ranks->average(sum_dy_xhat);
      }
      if (x.requires_grad()) {
        auto dx = x.grad_to_write();
        kernels::bn_backward_input(x, y.grad(), relu_out, mean, invstd, gamma, sum_dy, sum_dy_xhat, training, dx.tensor,
                                   dx.accumulate);
      }
    });
  }
  return y;
}

}  // namespace mm
