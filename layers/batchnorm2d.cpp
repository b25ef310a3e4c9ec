#include "layers/batchnorm2d.h"

namespace mm {

BatchNorm2d::BatchNorm2d(int channels, double momentum_, double eps_) : momentum(momentum_), eps(eps_) {
  weight = register_parameter("weight", Tensor::full({channels}, 1.0));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  buffers.running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  buffers.running_var = register_buffer("running_var", Tensor::full({channels}, 1.0));
  buffers.num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64));
}

Tensor BatchNorm2d::normalise(const Tensor& x, bool relu) {
  if (is_training() && !updates_running_stats()) {
    // a scratch copy absorbs the running-statistics update
    BatchNormBuffers scratch{buffers.running_mean.clone(), buffers.running_var.clone(), Tensor()};
    return batch_norm(x, weight, bias, scratch, true, momentum, eps, relu);
  }
  return batch_norm(x, weight, bias, buffers, is_training(), momentum, eps, relu);
}

}  // namespace mm
