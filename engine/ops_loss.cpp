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
    record(op, y, [logits, y, N, C, row_loss_float]() mutable {
      const double dy = y.grad().item() / N;
      dispatch_floating(logits.dtype(), "cross_entropy backward", [&](auto t) {
        using T = decltype(t);
        T* dz = logits.grad_ref().data<T>();
#pragma omp parallel
        {
          std::vector<double> g(C);
#pragma omp for schedule(static)
          for (int64_t i = 0; i < N; ++i) {
            row_loss_float(i, g.data());
            for (int64_t c = 0; c < C; ++c) dz[i * C + c] += T(dy * g[c]);
          }
        }
      });
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

Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
  MM_CHECK(logits.ndim() == 2, "cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, "cross_entropy labels");
  MM_CHECK(labels.dtype() == DType::I64, "cross_entropy: labels must be I64");
  check_device({&logits, &labels}, cpu(), "cross_entropy");
  const int64_t C = logits.dim(1);
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    MM_CHECK(y[i] >= 0 && y[i] < C, "cross_entropy: label {} of row {} is outside [0, {})", y[i], i, C);
  Tensor z = logits;
  auto row = [z, y, C](int64_t i, double* grad) {
    std::vector<double> zi(C);
    dispatch_floating(z.dtype(), "cross_entropy", [&](auto t) { row_to_double(z.data<decltype(t)>() + i * C, C, zi.data()); });
    return math::softmax_xent_label_row<double>(zi.data(), y[i], C, grad);
  };
  return mean_row_loss(logits, "cross_entropy", row, needs_grad({&logits}));
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& targets) {
  MM_CHECK(logits.ndim() == 2, "soft_cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_shape(targets, logits.shape(), "soft_cross_entropy targets");
  MM_CHECK(targets.dtype() == logits.dtype(), "soft_cross_entropy: targets and logits differ in dtype");
  check_device({&logits, &targets}, cpu(), "soft_cross_entropy");
  const int64_t C = logits.dim(1);
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

Tensor softmax(const Tensor& logits) {
  MM_CHECK(logits.ndim() == 2, "softmax: logits must be [N, C], got {}", shape_str(logits.shape()));
  check_device({&logits}, cpu(), "softmax");
  const int64_t N = logits.dim(0), C = logits.dim(1);
  Tensor p = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  dispatch_floating(logits.dtype(), "softmax", [&](auto t) {
    using T = decltype(t);
    const T* z = logits.data<T>();
    T* out = p.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      T zmax = z[i * C];
      for (int64_t c = 1; c < C; ++c) zmax = std::max(zmax, z[i * C + c]);
      T total = 0;
      for (int64_t c = 0; c < C; ++c) total += out[i * C + c] = std::exp(z[i * C + c] - zmax);
      for (int64_t c = 0; c < C; ++c) out[i * C + c] /= total;
    }
  });
  return p;
}

}  // namespace mm
