// Softmax cross-entropy, one-hot rows and softmax, with their autograd. No device code:
// engine/ops/loss_kernels.h runs them.
#include "engine/ops/loss.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/loss_kernels.h"

namespace mm {

namespace {
// The mean over rows of H(target_q, softmax(z_q)), recorded as `name`.
Tensor mean_cross_entropy(const Tensor& logits, const Tensor& target, const char* name) {
  const Device device = common_device({&logits, &target}, name);
  const int64_t R = logits.dim(0);
  const Tensor coef = Tensor::full({R}, 1.0 / static_cast<double>(R), logits.dtype(), device);
  Tensor y = Tensor::empty({}, logits.dtype(), device);
  kernels::softmax_xent(logits, target, coef, y);
  if (needs_grad({&logits}))
    record(name, y, [logits, target, coef, y]() {
      auto dz = logits.grad_to_write();  // assigned when new, else added to
      kernels::softmax_xent_backward(logits, target, coef, y.grad(), dz.tensor, dz.accumulate);
    });
  return y;
}
}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
  MM_CHECK(logits.ndim() == 2, "cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, "cross_entropy labels");
  MM_CHECK(labels.dtype() == DType::I64, "cross_entropy: labels must be I64");
  const Tensor host_labels = labels.to(cpu());
  for (int64_t i = 0; i < logits.dim(0); ++i) {
    const int64_t label = host_labels.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < logits.dim(1), "cross_entropy: label {} of row {} is outside [0, {})", label, i,
             logits.dim(1));
  }
  return mean_cross_entropy(logits, labels, "cross_entropy");
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& targets) {
  MM_CHECK(logits.ndim() == 2, "soft_cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(targets, logits.shape(), "soft_cross_entropy targets");
  MM_CHECK(targets.dtype() == logits.dtype(), "soft_cross_entropy: targets and logits differ in dtype");
  return mean_cross_entropy(logits, targets, "soft_cross_entropy");
}

Tensor one_hot(const Tensor& labels, int64_t classes) {
  return one_hot_positions(labels, classes, 1).view({labels.numel(), classes});
}

Tensor one_hot_positions(const Tensor& labels, int64_t classes, int64_t copies) {
  MM_CHECK(labels.ndim() == 1 && labels.dtype() == DType::I64, "one_hot: labels must be I64 [N], got {} {}",
           dtype_name(labels.dtype()), shape_str(labels.shape()));
  MM_CHECK(classes >= 1 && copies >= 1, "one_hot: {} classes, {} positions", classes, copies);
  Tensor y = Tensor::empty({labels.dim(0), copies, classes}, DType::F32, labels.device());
  kernels::one_hot(labels, classes, copies, y);
  return y;
}

Tensor softmax(const Tensor& logits) {
  MM_CHECK(logits.ndim() == 2, "softmax: logits must be [N, C], got {}", shape_str(logits.shape()));
  const Device device = common_device({&logits}, "softmax");
  Tensor p = Tensor::empty(logits.shape(), logits.dtype(), device);
  kernels::softmax(logits, p);
  return p;
}

}  // namespace mm
