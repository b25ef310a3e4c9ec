// The CUDA twins of the batch-norm kernels (engine/ops/batchnorm_kernels.h): column sums in double
// (context.cuh), per-element math from engine/ops/batchnorm_math.h as on the CPU.
#include "engine/cuda/context.cuh"
#include "engine/ops/batchnorm_kernels.h"
#include "engine/ops/batchnorm_math.h"

namespace mm::cuda {

// One pass over x, as on the CPU: the shifted sums of math::bn_moments, the shift being row 0.
void bn_statistics(const float* x, int64_t M, int64_t C, float* mean, float* var_biased) {
  column_reduce2(M, C, [=] __device__(int64_t r, int64_t c) {
    const double d = double(x[r * C + c]) - double(x[c]);
    return make_double2(d, d * d);
  }, [=] __device__(int64_t c, double sum_d, double sum_dd) {
    double mean_c, var_c;
    math::bn_moments(double(x[c]), sum_d, sum_dd, double(M), &mean_c, &var_c);
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

void bn_apply(const float* x, const float* mean, const float* invstd, const float* gamma, const float* beta, bool relu,
              float* y, int64_t M, int64_t C) {
  map(M * C, [=] __device__(int64_t i) {
    const int64_t c = i % C;
    y[i] = math::bn_apply(x[i], mean[c], invstd[c], gamma[c], beta[c], relu);
  });
}

void bn_backward_sums(const float* x, const float* dy, const float* relu_out, const float* mean, const float* invstd,
                      int64_t M, int64_t C, float* sum_dy, float* sum_dy_xhat) {
  // both sums in one pass over x and dy, as on the CPU
  column_reduce2(M, C, [=] __device__(int64_t r, int64_t c) {
    const int64_t i = r * C + c;
    const float d = relu_out ? math::relu_gradient(relu_out[i], dy[i]) : dy[i];
    return make_double2(double(d), double(d) * math::bn_xhat(x[i], mean[c], invstd[c]));
  }, [=] __device__(int64_t c, double total_dy, double total_dy_xhat) {
    sum_dy[c] = float(total_dy);
    sum_dy_xhat[c] = float(total_dy_xhat);
  });
}

void bn_backward_input(const float* x, const float* dy, const float* relu_out, const float* mean, const float* invstd,
                       const float* gamma, const float* sum_dy, const float* sum_dy_xhat, bool training, int64_t M,
                       int64_t C, float* dx, bool accumulate) {
  map(M * C, [=] __device__(int64_t i) {
    const int64_t c = i % C;
    const float xhat = math::bn_xhat(x[i], mean[c], invstd[c]);
    const float d = relu_out ? math::relu_gradient(relu_out[i], dy[i]) : dy[i];
    const float v = training ? math::bn_backward_train(d, xhat, gamma[c], invstd[c], sum_dy[c], sum_dy_xhat[c], float(M))
                             : math::bn_backward_eval(d, gamma[c], invstd[c]);
    dx[i] = accumulate ? dx[i] + v : v;  // a new gradient is not read
  });
}

}  // namespace mm::cuda
