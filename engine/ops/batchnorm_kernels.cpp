// The batch-norm kernels: the dispatch to the device and the CPU loops (GPU: engine/ops/batchnorm.cu).
#include "engine/ops/batchnorm_kernels.h"

#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops/batchnorm_math.h"

namespace mm::kernels {

namespace {
// Calls f(std::true_type) or f(std::false_type): a loop with, say, the fused ReLU compiled in, or
// without it (a test of a run-time flag in the inner loop keeps the compiler from vectorising it).
template <class F>
void with_flag(bool flag, F&& f) {
  if (flag) f(std::true_type{});
  else f(std::false_type{});
}

}  // namespace

void bn_statistics(const Tensor& x, Tensor& mean, Tensor& var_biased) {
  const int64_t C = mean.numel(), M = x.numel() / C;
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "batch_norm", [&](auto s) {
      using S = decltype(s);
      cuda::bn_statistics(x.data<S>(), M, C, mean.data<float>(), var_biased.data<float>());
    }));
  if (bf16_as_float32({&x}, {}, [&](auto& in, auto&) { bn_statistics(in[0], mean, var_biased); })) return;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    // one pass: the shifted sums of math::bn_moments, the shift being row 0
    const T* shift = px;
    const std::vector<double> sums = parallel_column_sums<2>(M, C, [&](int64_t r, int64_t c) {
      const double d = double(px[r * C + c]) - double(shift[c]);
      return std::array<double, 2>{d, d * d};
    });
    for (int64_t c = 0; c < C; ++c) {
      double mean_c, var_c;
      math::bn_moments(double(shift[c]), sums[c], sums[C + c], double(M), &mean_c, &var_c);
      mean.data<T>()[c] = T(mean_c);
      var_biased.data<T>()[c] = T(var_c);
    }
  });
}

void bn_update_running(BatchNormBuffers& buffers, const Tensor& mean, const Tensor& var_biased, int64_t M, double momentum) {
  const int64_t C = mean.numel();
  if (mean.device().is_cuda()) {
    MM_CUDA_CALL({
      cuda::bn_update_running(buffers.running_mean.data<float>(), buffers.running_var.data<float>(), mean.data<float>(),
                              var_biased.data<float>(), M, C, float(momentum));
      if (buffers.num_batches_tracked.defined()) cuda::increment(buffers.num_batches_tracked.data<int64_t>());
    });
    return;
  }
  dispatch_floating(mean.dtype(), "batch_norm", [&](auto t) {
    using T = decltype(t);
    T *rm = buffers.running_mean.data<T>(), *rv = buffers.running_var.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      rm[c] = math::running_update<T>(rm[c], mean.data<T>()[c], T(momentum));
      rv[c] = math::running_update<T>(rv[c], T(double(var_biased.data<T>()[c]) * M / (M - 1)), T(momentum));  // unbiased
    }
  });
  if (buffers.num_batches_tracked.defined()) buffers.num_batches_tracked.data<int64_t>()[0] += 1;
}

void bn_invstd(const Tensor& var, double eps, Tensor& invstd) {
  const int64_t C = var.numel();
  if (var.device().is_cuda()) return MM_CUDA_CALL(cuda::bn_invstd(var.data<float>(), C, float(eps), invstd.data<float>()));
  dispatch_floating(var.dtype(), "batch_norm", [&](auto t) {
    using T = decltype(t);
    for (int64_t c = 0; c < C; ++c) invstd.data<T>()[c] = math::bn_invstd(var.data<T>()[c], T(eps));
  });
}

void bn_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
              bool relu, Tensor& y) {
  const int64_t C = mean.numel(), M = x.numel() / C;
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "batch_norm", [&](auto s) {
      using S = decltype(s);
      cuda::bn_apply(x.data<S>(), mean.data<float>(), invstd.data<float>(), gamma.data<float>(),
                                  beta.data<float>(), relu, y.data<S>(), M, C);
    }));
  if (bf16_as_float32({&x}, {&y}, [&](auto& in, auto& out) { bn_apply(in[0], mean, invstd, gamma, beta, relu, out[0]); }))
    return;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto t) {
    with_flag(relu, [&](auto fused) {
      using T = decltype(t);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      const ChannelSpans<T, 4> spans(C, {mean.data<T>(), invstd.data<T>(), gamma.data<T>(), beta.data<T>()});
      spans.for_each_span(M * C, [&](int64_t first, int64_t count, std::array<const T*, 4> channel) {
        const T *pm = channel[0], *pi = channel[1], *g = channel[2], *b = channel[3];
        const T* xs = px + first;
        T* ys = py + first;
        for (int64_t j = 0; j < count; ++j) ys[j] = math::bn_apply(xs[j], pm[j], pi[j], g[j], b[j], fused.value);
      });
    });
  });
}

void bn_backward_sums(const Tensor& x, const Tensor& dy, const Tensor& relu_out, const Tensor& mean, const Tensor& invstd,
                      Tensor& sum_dy, Tensor& sum_dy_xhat) {
  const int64_t C = mean.numel(), M = x.numel() / C;
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "batch_norm backward", [&](auto s) {
      using S = decltype(s);
      cuda::bn_backward_sums(x.data<S>(), dy.data<S>(), relu_out.defined() ? relu_out.data<S>() : nullptr,
                                          mean.data<float>(), invstd.data<float>(), M, C, sum_dy.data<float>(),
                                          sum_dy_xhat.data<float>());
    }));
  if (bf16_as_float32({&x, &dy, &relu_out}, {}, [&](auto& in, auto&) {
        bn_backward_sums(in[0], in[1], in[2], mean, invstd, sum_dy, sum_dy_xhat);
      }))
    return;
  dispatch_floating(x.dtype(), "batch_norm backward", [&](auto t) {
    with_flag(relu_out.defined(), [&](auto fused) {
      using T = decltype(t);
      const T *px = x.data<T>(), *pdy = dy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>();
      const T* relu = fused.value ? relu_out.data<T>() : nullptr;
      const std::vector<double> both = parallel_column_sums<2>(M, C, [&](int64_t r, int64_t c) {
        const int64_t i = r * C + c;
        T d = pdy[i];
        if constexpr (decltype(fused)::value) d = math::relu_gradient(relu[i], d);
        return std::array<double, 2>{double(d), double(d) * math::bn_xhat(px[i], pm[c], pi[c])};
      });
      for (int64_t c = 0; c < C; ++c) {
        sum_dy.data<T>()[c] = T(both[c]);
        sum_dy_xhat.data<T>()[c] = T(both[C + c]);
      }
    });
  });
}

void bn_backward_input(const Tensor& x, const Tensor& dy, const Tensor& relu_out, const Tensor& mean, const Tensor& invstd,
                       const Tensor& gamma, const Tensor& sum_dy, const Tensor& sum_dy_xhat, bool training, Tensor& dx,
                       bool accumulate) {
  const int64_t C = mean.numel(), M = x.numel() / C;
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "batch_norm backward", [&](auto s) {
      using S = decltype(s);
      cuda::bn_backward_input(x.data<S>(), dy.data<S>(), relu_out.defined() ? relu_out.data<S>() : nullptr,
                                           mean.data<float>(), invstd.data<float>(), gamma.data<float>(),
                                           sum_dy.data<float>(), sum_dy_xhat.data<float>(), training, M, C, dx.data<S>(),
                                           accumulate);
    }));
  if (bf16_as_float32({&x, &dy, &relu_out}, {&dx}, [&](auto& in, auto& out) {
        bn_backward_input(in[0], in[1], in[2], mean, invstd, gamma, sum_dy, sum_dy_xhat, training, out[0], accumulate);
      }))
    return;
  dispatch_floating(x.dtype(), "batch_norm backward", [&](auto t) {
    with_flag(relu_out.defined(), [&](auto fused) {
      using T = decltype(t);
      const T *px = x.data<T>(), *pdy = dy.data<T>();
      const T* relu = fused.value ? relu_out.data<T>() : nullptr;
      T* pdx = dx.data<T>();
      const ChannelSpans<T, 5> spans(
          C, {mean.data<T>(), invstd.data<T>(), gamma.data<T>(), sum_dy.data<T>(), sum_dy_xhat.data<T>()});
      with_flag(training, [&](auto train) {
        with_flag(accumulate, [&](auto add) {
          spans.for_each_span(M * C, [&](int64_t first, int64_t count, std::array<const T*, 5> channel) {
            const T *pm = channel[0], *pi = channel[1], *g = channel[2], *sdy = channel[3], *sdx = channel[4];
            const T *xs = px + first, *dys = pdy + first, *relus = fused.value ? relu + first : nullptr;
            T* dxs = pdx + first;
            for (int64_t j = 0; j < count; ++j) {
              T d = dys[j];
              if constexpr (decltype(fused)::value) d = math::relu_gradient(relus[j], d);
              T v;
              if constexpr (decltype(train)::value)
                v = math::bn_backward_train(d, math::bn_xhat(xs[j], pm[j], pi[j]), g[j], pi[j], sdy[j], sdx[j], T(M));
              else
                v = math::bn_backward_eval(d, g[j], pi[j]);
              dxs[j] = decltype(add)::value ? dxs[j] + v : v;
            }
          });
        });
      });
    });
  });
}

}  // namespace mm::kernels
