// Batch normalisation over all but the channel (last) dimension. Formulas in engine/ops.h and
// engine/math.h (bn_apply, bn_backward_train, running_update).
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/math.h"
#include "engine/ops.h"

namespace mm {

namespace {

// For each channel c of x viewed as [M, C]: out1[c] = sum_r f1(r, c), out2[c] = sum_r f2(r, c),
// accumulated in double, deterministically (parallel_sums).
template <class F1, class F2>
void channel_sums(int64_t M, int64_t C, std::vector<double>& out1, std::vector<double>& out2, F1 f1, F2 f2) {
  std::vector<double> both = parallel_sums(M, 2 * C, [&](int64_t r, double* slot) {
    for (int64_t c = 0; c < C; ++c) {
      slot[c] += f1(r, c);
      slot[C + c] += f2(r, c);
    }
  });
  out1.assign(both.begin(), both.begin() + C);
  out2.assign(both.begin() + C, both.end());
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormBuffers& buffers,
                  bool training, double momentum, double eps) {
  MM_CHECK(x.ndim() == 2 || x.ndim() == 4, "batch_norm: expected [N, C] or [N, H, W, C], got {}", shape_str(x.shape()));
  const int64_t C = x.dim(-1), M = x.numel() / C;
  check_shape(gamma, {C}, "batch_norm weight");
  check_shape(beta, {C}, "batch_norm bias");
  check_shape(buffers.running_mean, {C}, "batch_norm running_mean");
  check_shape(buffers.running_var, {C}, "batch_norm running_var");
  const Device device =
      common_device({&x, &gamma, &beta, &buffers.running_mean, &buffers.running_var}, "batch_norm");
  MM_CHECK(!training || M > 1, "batch_norm: training needs more than one value per channel, got {}", shape_str(x.shape()));

  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  Tensor mean = Tensor::empty({C}, x.dtype(), device), invstd = Tensor::empty({C}, x.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL({
      if (training) {
        Tensor var = Tensor::empty({C}, x.dtype(), device);
        cuda::bn_statistics(x.data<float>(), M, C, mean.data<float>(), var.data<float>());
        cuda::bn_invstd(var.data<float>(), C, float(eps), invstd.data<float>());
        cuda::bn_update_running(buffers.running_mean.data<float>(), buffers.running_var.data<float>(), mean.data<float>(),
                                var.data<float>(), M, C, float(momentum));
        if (buffers.num_batches_tracked.defined()) cuda::increment(buffers.num_batches_tracked.data<int64_t>());
      } else {
        mean.copy_from(buffers.running_mean);
        cuda::bn_invstd(buffers.running_var.data<float>(), C, float(eps), invstd.data<float>());
      }
      cuda::bn_apply(x.data<float>(), mean.data<float>(), invstd.data<float>(), gamma.data<float>(), beta.data<float>(),
                     y.data<float>(), M, C);
    });
  } else dispatch_floating(x.dtype(), "batch_norm", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T *pm = mean.data<T>(), *pi = invstd.data<T>();
    T *rm = buffers.running_mean.data<T>(), *rv = buffers.running_var.data<T>();
    if (training) {
      std::vector<double> s, unused;
      channel_sums(M, C, s, unused, [&](int64_t r, int64_t c) { return double(px[r * C + c]); },
                   [](int64_t, int64_t) { return 0.0; });
      for (int64_t c = 0; c < C; ++c) pm[c] = T(s[c] / M);
      std::vector<double> ss;  // two-pass variance: sum (x - mean)^2
      channel_sums(M, C, ss, unused,
                   [&](int64_t r, int64_t c) { const double d = px[r * C + c] - s[c] / M; return d * d; },
                   [](int64_t, int64_t) { return 0.0; });
      for (int64_t c = 0; c < C; ++c) {
        const double var = ss[c] / M;  // biased, for normalising
        pi[c] = math::bn_invstd(T(var), T(eps));
        rm[c] = math::running_update<T>(rm[c], pm[c], T(momentum));
        rv[c] = math::running_update<T>(rv[c], T(var * M / (M - 1)), T(momentum));  // unbiased
      }
      if (buffers.num_batches_tracked.defined()) buffers.num_batches_tracked.data<int64_t>()[0] += 1;
    } else {
      for (int64_t c = 0; c < C; ++c) {
        pm[c] = rm[c];
        pi[c] = math::bn_invstd(rv[c], T(eps));
      }
    }
    const T *g = gamma.data<T>(), *b = beta.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < C; ++c) py[r * C + c] = math::bn_apply(px[r * C + c], pm[c], pi[c], g[c], b[c]);
  });

  if (needs_grad({&x, &gamma, &beta})) {
    record("batch_norm", y, [x, gamma, beta, y, mean, invstd, training, M, C]() {
      if (y.device().is_cuda()) {
        MM_CUDA_CALL({
          Tensor sum_dy = Tensor::empty({C}, x.dtype(), y.device()), sum_dy_xhat = Tensor::empty({C}, x.dtype(), y.device());
          const float* dy = y.grad().data<float>();
          cuda::bn_backward_sums(x.data<float>(), dy, mean.data<float>(), invstd.data<float>(), M, C,
                                 sum_dy.data<float>(), sum_dy_xhat.data<float>());
          if (gamma.requires_grad()) cuda::axpy(1.0f, sum_dy_xhat.data<float>(), gamma.grad_ref().data<float>(), C);
          if (beta.requires_grad()) cuda::axpy(1.0f, sum_dy.data<float>(), beta.grad_ref().data<float>(), C);
          if (x.requires_grad())
            cuda::bn_backward_input(x.data<float>(), dy, mean.data<float>(), invstd.data<float>(), gamma.data<float>(),
                                    sum_dy.data<float>(), sum_dy_xhat.data<float>(), training, M, C,
                                    x.grad_ref().data<float>());
        });
        return;
      }
      dispatch_floating(x.dtype(), "batch_norm backward", [&](auto t) {
        using T = decltype(t);
        const T *px = x.data<T>(), *dy = y.grad().data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
        const T* g = gamma.data<T>();
        auto xhat = [&](int64_t r, int64_t c) { return math::bn_xhat(px[r * C + c], pm[c], pi[c]); };
        std::vector<double> sum_dy, sum_dy_xhat;
        channel_sums(M, C, sum_dy, sum_dy_xhat, [&](int64_t r, int64_t c) { return double(dy[r * C + c]); },
                     [&](int64_t r, int64_t c) { return double(dy[r * C + c]) * xhat(r, c); });
        if (gamma.requires_grad()) {
          T* dg = gamma.grad_ref().data<T>();
          for (int64_t c = 0; c < C; ++c) dg[c] += T(sum_dy_xhat[c]);
        }
        if (beta.requires_grad()) {
          T* db = beta.grad_ref().data<T>();
          for (int64_t c = 0; c < C; ++c) db[c] += T(sum_dy[c]);
        }
        if (!x.requires_grad()) return;
        T* dx = x.grad_ref().data<T>();
        std::vector<T> sdy(sum_dy.begin(), sum_dy.end()), sdx(sum_dy_xhat.begin(), sum_dy_xhat.end());
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < M; ++r)
          for (int64_t c = 0; c < C; ++c) {
            const int64_t i = r * C + c;
            dx[i] += training ? math::bn_backward_train(dy[i], xhat(r, c), g[c], pi[c], sdy[c], sdx[c], T(M))
                              : math::bn_backward_eval(dy[i], g[c], pi[c]);
          }
      });
    });
  }
  return y;
}

}  // namespace mm
