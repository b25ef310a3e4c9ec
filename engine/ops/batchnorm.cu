// The CUDA twins of the batch-norm kernels (engine/ops/batchnorm_kernels.h): column sums in double
// (context.cuh), per-element math from engine/ops/batchnorm_math.h as on the CPU.
#include "engine/cuda/context.cuh"
#include "engine/ops/batchnorm_kernels.h"
#include "engine/ops/batchnorm_math.h"

namespace mm::cuda {

// One pass over x, as on the CPU: the shifted sums of math::bn_moments, the shift being row 0.
template <class S>
void bn_statistics(const S* x, int64_t M, int64_t C, float* mean, float* var_biased) {
  column_reduce2(M, C, [=] __device__(int64_t r, int64_t c) {
    const double d = double(float(x[r * C + c])) - double(float(x[c]));
    return make_double2(d, d * d);
  }, [=] __device__(int64_t c, double sum_d, double sum_dd) {
    double mean_c, var_c;
    math::bn_moments(double(float(x[c])), sum_d, sum_dd, double(M), &mean_c, &var_c);
    mean[c] = float(mean_c);
    var_biased[c] = float(var_c);
  });
}

void bn_update_running(float* running_mean, float* running_var, const float* mean, const float* var_biased, int64_t M,
                       int64_t C, float momentum) {
  const float unbias = float(M) / float(M - 1);
  map(C, [=] __device__(int64_t c) {
    running_mean[c] = math::running_update(running_mean[c], mean[c], momentum);
    running_var[c] = math::running_update(running_var[c], var_biased[c] * unbias, momentum);
  });
}

void increment(int64_t* counter) {
  map(1, [=] __device__(int64_t) { counter[0] += 1; });
}

void bn_invstd(const float* var, int64_t C, float eps, float* invstd) {
  map(C, [=] __device__(int64_t c) { invstd[c] = math::bn_invstd(var[c], eps); });
}

template <class S>
void bn_apply(const S* x, const float* mean, const float* invstd, const float* gamma, const float* beta, bool relu, S* y,
              int64_t M, int64_t C) {
  map_columns(M * C, C, [=] __device__(int64_t i, int64_t c) {
    y[i] = S(math::bn_apply(float(x[i]), mean[c], invstd[c], gamma[c], beta[c], relu));
  });
}

template <class S>
void bn_backward_sums(const S* x, const S* dy, const S* relu_out, const float* mean, const float* invstd, int64_t M,
                      int64_t C, float* sum_dy, float* sum_dy_xhat) {
  // both sums in one pass over x and dy, as on the CPU
  column_reduce2(M, C, [=] __device__(int64_t r, int64_t c) {
    const int64_t i = r * C + c;
    const float d = relu_out ? math::relu_gradient(float(relu_out[i]), float(dy[i])) : float(dy[i]);
    return make_double2(double(d), double(d) * math::bn_xhat(float(x[i]), mean[c], invstd[c]));
  }, [=] __device__(int64_t c, double total_dy, double total_dy_xhat) {
    sum_dy[c] = float(total_dy);
    sum_dy_xhat[c] = float(total_dy_xhat);
  });
}

template <class S>
void bn_backward_input(const S* x, const S* dy, const S* relu_out, const float* mean, const float* invstd,
                       const float* gamma, const float* sum_dy, const float* sum_dy_xhat, bool training, int64_t M,
                       int64_t C, S* dx, bool accumulate) {
  map_columns(M * C, C, [=] __device__(int64_t i, int64_t c) {
    const float xhat = math::bn_xhat(float(x[i]), mean[c], invstd[c]);
    const float d = relu_out ? math::relu_gradient(float(relu_out[i]), float(dy[i])) : float(dy[i]);
    const float v = training ? math::bn_backward_train(d, xhat, gamma[c], invstd[c], sum_dy[c], sum_dy_xhat[c], float(M))
                             : math::bn_backward_eval(d, gamma[c], invstd[c]);
    dx[i] = S(accumulate ? float(dx[i]) + v : v);  // a new gradient is not read
  });
}

#define MM_INSTANTIATE(S)                                                                                           \
  template void bn_statistics<S>(const S*, int64_t, int64_t, float*, float*);                                       \
  template void bn_apply<S>(const S*, const float*, const float*, const float*, const float*, bool, S*, int64_t,     \
                            int64_t);                                                                               \
  template void bn_backward_sums<S>(const S*, const S*, const S*, const float*, const float*, int64_t, int64_t,     \
                                    float*, float*);                                                                \
  template void bn_backward_input<S>(const S*, const S*, const S*, const float*, const float*, const float*,        \
                                     const float*, const float*, bool, int64_t, int64_t, S*, bool);
MM_INSTANTIATE(float)
MM_INSTANTIATE(bf16)
#undef MM_INSTANTIATE

}  // namespace mm::cuda
