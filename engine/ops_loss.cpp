// Softmax cross-entropy on hard labels and on soft targets. The per-row arithmetic is
// math::softmax_xent_row / softmax_xent_label_row (engine/math.h), shared with CUDA.
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops.h"

namespace mm {

namespace {

// Runs row_loss(i, grad_row_or_null) for every row; returns the mean loss; records the backward,
// which recomputes the per-row gradient and accumulates dy / N times it.
template <class RowLoss>
Tensor mean_row_loss(const Tensor& logits, const char* op, RowLoss row_loss_float, bool record_grad) {
  const int64_t N = logits.dim(0), C = logits.dim(1);
  Tensor y = Tensor::empty({}, logits.dtype(), logits.device());
  const double total = parallel_sums(N, 1, [&](int64_t i, double* slot) { slot[0] += row_loss_float(i, nullptr); })[0];
  const double loss = total / N;
  dispatch_floating(logits.dtype(), op, [&](auto t) { y.data<decltype(t)>()[0] = decltype(t)(loss); });
  MM_CHECK(std::isfinite(loss), "{}: the loss is {} (non-finite logits?)", op, loss);
  if (record_grad) {
    record(op, y, [logits, y, N, C, row_loss_float]() {
      const double dy = y.grad().item() / N;
      accumulate_row_gradients(logits, N, C, row_loss_float, [dy](int64_t) { return dy; });
    });
  }
  return y;
}

// Copies row i of a [N, C] tensor into double, where the row loss is evaluated. Double keeps the
// gradient checker exact and costs nothing next to the convolutions.
template <class T>
void row_to_double(const T* src, int64_t C, double* dst) {
  for (int64_t c = 0; c < C; ++c) dst[c] = src[c];
}

}  // namespace

#ifdef MM_WITH_CUDA
namespace {
// The GPU path of both losses: per-row losses, their mean, and a backward that scales the
// per-row gradients by dy / N. rows(loss) and backward(dloss, dz) call the kernels.
template <class Rows, class Backward>
Tensor mean_row_loss_cuda(const Tensor& logits, const char* op, Rows rows, Backward grad, bool record_grad) {
  const int64_t N = logits.dim(0);
  Tensor row_loss = Tensor::empty({N}, DType::F32, logits.device());
  rows(row_loss.data<float>());
  Tensor y = Tensor::empty({}, DType::F32, logits.device());
  cuda::sum(row_loss.data<float>(), N, 1.0f / float(N), y.data<float>());
  if (record_grad)
    record(op, y, [logits, y, grad, N]() { grad(y.grad().data<float>(), 1.0f / float(N), logits.grad_ref().data<float>()); });
  return y;
}
}  // namespace
#endif

Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
  MM_CHECK(logits.ndim() == 2, "cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, "cross_entropy labels");
  MM_CHECK(labels.dtype() == DType::I64, "cross_entropy: labels must be I64");
  const Device device = common_device({&logits, &labels}, "cross_entropy");
  const int64_t N = logits.dim(0), C = logits.dim(1);
  const Tensor host_labels = labels.to(cpu());
  for (int64_t i = 0; i < N; ++i) {
    const int64_t label = host_labels.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < C, "cross_entropy: label {} of row {} is outside [0, {})", label, i, C);
  }
  if (device.is_cuda()) {
    // The lambdas hold the tensors (not raw pointers), so the labels outlive the forward pass.
    MM_CUDA_CALL({
      return mean_row_loss_cuda(
          logits, "cross_entropy",
          [=](float* rows) { cuda::xent_label_rows(logits.data<float>(), labels.data<int64_t>(), N, C, rows); },
          [=](const float* dloss, float scale, float* dz) {
            cuda::xent_label_backward(logits.data<float>(), labels.data<int64_t>(), N, C, dloss, scale, dz);
          },
          needs_grad({&logits}));
    });
  }
  Tensor z = logits;
  auto row = [z, host_labels, C](int64_t i, double* grad) {
    std::vector<double> zi(C);
    dispatch_floating(z.dtype(), "cross_entropy", [&](auto t) { row_to_double(z.data<decltype(t)>() + i * C, C, zi.data()); });
    return math::softmax_xent_label_row<double>(zi.data(), host_labels.data<int64_t>()[i], C, grad);
  };
  return mean_row_loss(logits, "cross_entropy", row, needs_grad({&logits}));
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& targets) {
  MM_CHECK(logits.ndim() == 2, "soft_cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(targets, logits.shape(), "soft_cross_entropy targets");
  MM_CHECK(targets.dtype() == logits.dtype(), "soft_cross_entropy: targets and logits differ in dtype");
  const Device device = common_device({&logits, &targets}, "soft_cross_entropy");
  const int64_t C = logits.dim(1);
  if (device.is_cuda()) {
    MM_CUDA_CALL({
      const int64_t N = logits.dim(0);
      return mean_row_loss_cuda(
          logits, "soft_cross_entropy",
          [=](float* rows) { cuda::xent_soft_rows(logits.data<float>(), targets.data<float>(), N, C, rows); },
          [=](const float* dloss, float scale, float* dz) {
            cuda::xent_soft_backward(logits.data<float>(), targets.data<float>(), N, C, dloss, scale, dz);
          },
          needs_grad({&logits}));
    });
  }
  Tensor z = logits, t = targets;
  auto row = [z, t, C](int64_t i, double* grad) {
    std::vector<double> zi(C), ti(C);
    dispatch_floating(z.dtype(), "soft_cross_entropy", [&](auto s) {
      using T = decltype(s);
      row_to_double(z.data<T>() + i * C, C, zi.data());
      row_to_double(t.data<T>() + i * C, C, ti.data());
    });
    return math::softmax_xent_row<double>(zi.data(), ti.data(), C, grad);
  };
  return mean_row_loss(logits, "soft_cross_entropy", row, needs_grad({&logits}));
}

Tensor one_hot(const Tensor& labels, int64_t classes) {
  return one_hot_positions(labels, classes, 1).view({labels.numel(), classes});
}

Tensor one_hot_positions(const Tensor& labels, int64_t classes, int64_t copies) {
  MM_CHECK(labels.ndim() == 1 && labels.dtype() == DType::I64, "one_hot: labels must be I64 [N], got {} {}",
           dtype_name(labels.dtype()), shape_str(labels.shape()));
  MM_CHECK(classes >= 1 && copies >= 1, "one_hot: {} classes, {} positions", classes, copies);
  const int64_t N = labels.dim(0), C = classes;
  Tensor y = Tensor::empty({N, copies, C}, DType::F32, labels.device());
  if (labels.device().is_cuda()) {
    MM_CUDA_CALL(cuda::one_hot(labels.data<int64_t>(), N, C, copies, y.data<float>()));
    return y;
  }
  for (int64_t i = 0; i < N; ++i) {
    const int64_t label = labels.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < C, "one_hot: label {} of row {} is outside [0, {})", label, i, C);
    for (int64_t q = 0; q < copies * C; ++q) y.data<float>()[i * copies * C + q] = math::one_hot_entry<float>(label, q % C, C);
  }
  return y;
}

Tensor softmax(const Tensor& logits) {
  MM_CHECK(logits.ndim() == 2, "softmax: logits must be [N, C], got {}", shape_str(logits.shape()));
  const Device device = common_device({&logits}, "softmax");
  const int64_t N = logits.dim(0), C = logits.dim(1);
  Tensor p = Tensor::empty(logits.shape(), logits.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::softmax_rows(logits.data<float>(), N, C, p.data<float>()));
    return p;
  }
  dispatch_floating(logits.dtype(), "softmax", [&](auto t) {
    using T = decltype(t);
    const T* z = logits.data<T>();
    T* out = p.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) math::softmax_row(z + i * C, static_cast<int>(C), out + i * C);
  });
  return p;
}

}  // namespace mm
