// The cross-entropy kernels: the dispatch to the device and the CPU loops (GPU: engine/ops/loss.cu).
// A row is evaluated in the tensors' dtype, as on the GPU (float64 tensors, those of the gradient
// checker, stay exact); the sum over rows is taken in double.
#include "engine/ops/loss_kernels.h"

#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops/loss_math.h"

namespace mm::kernels {

namespace {
// H of row q, with its gradient (C values) when grad != nullptr.
template <class T>
T row_xent(const Tensor& z, const Tensor& target, int64_t q, T* grad) {
  const int64_t C = z.dim(-1);
  const T* zq = z.data<T>() + q * C;
  if (target.dtype() == DType::I64) return math::softmax_xent_label_row<T>(zq, target.data<int64_t>()[q], int(C), grad);
  return math::softmax_xent_row<T>(zq, target.data<T>() + q * C, int(C), grad);
}
}  // namespace

void softmax_xent(const Tensor& z, const Tensor& target, const Tensor& coef, Tensor& y) {
  // C and hard serve the GPU call alone (unused in a build without CUDA)
  [[maybe_unused]] const int64_t R = z.dim(0), C = z.dim(-1);
  [[maybe_unused]] const bool hard = target.dtype() == DType::I64;
  if (z.device().is_cuda())
    return MM_CUDA_CALL(cuda::softmax_xent(z.data<float>(), hard ? target.data<int64_t>() : nullptr,
                                           hard ? nullptr : target.data<float>(), coef.data<float>(), R, C, y.data<float>()));
  const std::vector<double> w = coef.to_doubles();
  double loss = 0;
  dispatch_floating(z.dtype(), "cross-entropy", [&](auto t) {
    using T = decltype(t);
    loss = parallel_sums(R, 1, [&](int64_t q, double* slot) {
      if (w[q] != 0) slot[0] += w[q] * double(row_xent<T>(z, target, q, nullptr));
    })[0];
  });
  MM_CHECK(std::isfinite(loss), "cross-entropy: the loss is {} (non-finite logits?)", loss);
  y.fill(loss);
}

void softmax_xent_backward(const Tensor& z, const Tensor& target, const Tensor& coef, const Tensor& dy, Tensor& dz,
                           bool accumulate) {
  [[maybe_unused]] const int64_t R = z.dim(0), C = z.dim(-1);
  [[maybe_unused]] const bool hard = target.dtype() == DType::I64;
  if (z.device().is_cuda())
    return MM_CUDA_CALL(cuda::softmax_xent_backward(z.data<float>(), hard ? target.data<int64_t>() : nullptr,
                                                    hard ? nullptr : target.data<float>(), coef.data<float>(), R, C,
                                                    dy.data<float>(), dz.data<float>(), accumulate));
  const std::vector<double> w = coef.to_doubles();
  const double d = dy.item();
  dispatch_floating(z.dtype(), "cross-entropy backward", [&](auto t) {
    using T = decltype(t);
    T* pdz = dz.data<T>();
#pragma omp parallel
    {
      std::vector<T> g(C);
#pragma omp for schedule(static)
      for (int64_t q = 0; q < R; ++q) {
        T* row = pdz + q * C;
        if (w[q] == 0) {  // no contribution: a new gradient's row is still written
          if (!accumulate) std::fill_n(row, C, T(0));
          continue;
        }
        row_xent<T>(z, target, q, g.data());
        const T scale = T(d * w[q]);
        for (int64_t c = 0; c < C; ++c) row[c] = accumulate ? row[c] + scale * g[c] : scale * g[c];
      }
    }
  });
}

void softmax(const Tensor& z, Tensor& p) {
  const int64_t R = z.dim(0), C = z.dim(-1);
  if (z.device().is_cuda()) return MM_CUDA_CALL(cuda::softmax(z.data<float>(), R, C, p.data<float>()));
  dispatch_floating(z.dtype(), "softmax", [&](auto t) {
    using T = decltype(t);
    const T* pz = z.data<T>();
    T* pp = p.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < R; ++q) math::softmax_row(pz + q * C, static_cast<int>(C), pp + q * C);
  });
}

void one_hot(const Tensor& labels, int64_t C, int64_t copies, Tensor& y) {
  const int64_t N = labels.numel();
  if (labels.device().is_cuda()) return MM_CUDA_CALL(cuda::one_hot(labels.data<int64_t>(), N, C, copies, y.data<float>()));
  for (int64_t i = 0; i < N; ++i) {
    const int64_t label = labels.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < C, "one_hot: label {} of row {} is outside [0, {})", label, i, C);
    for (int64_t q = 0; q < copies * C; ++q) y.data<float>()[i * copies * C + q] = math::one_hot_entry<float>(label, q % C, C);
  }
}

}  // namespace mm::kernels
