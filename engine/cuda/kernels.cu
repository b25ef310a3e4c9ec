// CUDA kernels and vendor-library calls behind engine/cuda/kernels.h. The arithmetic of each
// element comes from engine/math.h, shared with the CPU loops.
#include <map>
#include <mutex>
#include <tuple>

#include "engine/cuda/context.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/runtime.h"
#include "engine/math.h"

namespace mm::cuda {

// ---- reductions ----
void sum(const float* x, int64_t n, float weight, float* out) {
  column_reduce(n, 1, [=] __device__(int64_t r, int64_t) { return double(x[r]); }, out, weight, false);
}

// ---- linear and convolution ----------------------------------------------------------------------
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  MM_CUBLAS_CHECK(cublasSgemm(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                              K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}

void gemm_strided_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                          int64_t stride_a, const float* B, int ldb, int64_t stride_b, float beta, float* C, int ldc,
                          int64_t stride_c, int batch) {
  MM_CUBLAS_CHECK(cublasSgemmStridedBatched(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                            trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, stride_b, A,
                                            lda, stride_a, &beta, C, ldc, stride_c, batch));
}

void column_sums(const float* x, int64_t rows, int64_t C, float* out, bool accumulate) {
  column_reduce(rows, C, [=] __device__(int64_t r, int64_t c) { return double(x[r * C + c]); }, out, 1.0f, accumulate);
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t C) {
  map(rows * C, [=] __device__(int64_t i) { y[i] += bias[i % C]; });
}

namespace {

// Descriptors and algorithms of one convolution shape, made once and cached (docs/architecture.md "GPU step
// hygiene"). Every cuDNN call of the engine is in this file.
struct ConvPlan {
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnConvolutionFwdAlgo_t fwd;
  cudnnConvolutionBwdDataAlgo_t bwd_data;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter;
  size_t workspace = 0;
};

ConvPlan& plan_for(const ConvShape& s) {
  static std::map<std::tuple<int, int, int, int, int, int, int, int, int, bool>, ConvPlan> plans;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const bool tf32 = tf32_allowed();
  auto key = std::make_tuple(s.N, s.H, s.W, s.Cin, s.Cout, s.kh, s.kw, s.stride, s.pad, tf32);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  ConvPlan p;
  MM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
  MM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
  MM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  MM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  MM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.N, s.Cin, s.H, s.W));
  MM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.N, s.Cout, s.Ho, s.Wo));
  // NHWC filters are [Cout, kh, kw, Cin]: the engine's layout
  MM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, s.Cout, s.Cin, s.kh, s.kw));
  MM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p.conv, s.pad, s.pad, s.stride, s.stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  MM_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int found = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[8];
  MM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(cudnn(), p.x, p.w, p.conv, p.y, 8, &found, fwd));
  cudnnConvolutionBwdDataAlgoPerf_t bd[8];
  int found_bd = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn(), p.w, p.y, p.conv, p.x, 8, &found_bd, bd));
  cudnnConvolutionBwdFilterAlgoPerf_t bf[8];
  int found_bf = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn(), p.x, p.y, p.conv, p.w, 8, &found_bf, bf));
  // the first supported algorithm of each heuristic list
  auto pick = [](auto* perf, int n, const char* what) {
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) return perf[i].algo;
    throw Error(fmt::format("cuDNN offers no {} algorithm for this convolution", what));
  };
  p.fwd = pick(fwd, found, "forward");
  p.bwd_data = pick(bd, found_bd, "backward-data");
  p.bwd_filter = pick(bf, found_bf, "backward-filter");
  size_t a = 0, b = 0, c = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cudnn(), p.x, p.w, p.conv, p.y, p.fwd, &a));
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), p.w, p.y, p.conv, p.x, p.bwd_data, &b));
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), p.x, p.y, p.conv, p.w, p.bwd_filter, &c));
  p.workspace = std::max({a, b, c});
  return plans.emplace(key, p).first->second;
}

// One shared workspace, grown to the largest size any plan has asked for.
void* workspace(size_t bytes) {
  static void* ptr = nullptr;
  static size_t size = 0;
  if (bytes > size) {
    if (ptr) device_free(ptr, size);
    ptr = device_allocate(bytes);
    size = bytes;
  }
  return ptr;
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  ConvPlan& p = plan_for(s);
  const float one = 1, zero = 0;
  MM_CUDNN_CHECK(cudnnConvolutionForward(cudnn(), &one, p.x, x, p.w, w, p.conv, p.fwd, workspace(p.workspace),
                                         p.workspace, &zero, p.y, y));
}

void conv_backward(const ConvShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw) {
  ConvPlan& p = plan_for(s);
  const float one = 1;  // beta = 1: accumulate
  if (dx)
    MM_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn(), &one, p.w, w, p.y, dy, p.conv, p.bwd_data,
                                                workspace(p.workspace), p.workspace, &one, p.x, dx));
  if (dw)
    MM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, x, p.y, dy, p.conv, p.bwd_filter,
                                                  workspace(p.workspace), p.workspace, &one, p.w, dw));
}

// ---- batch norm ------------------------------------------------------------------------------------
void bn_statistics(const float* x, int64_t M, int64_t C, float* mean, float* var_biased) {
  column_reduce(M, C, [=] __device__(int64_t r, int64_t c) { return double(x[r * C + c]); }, mean, 1.0f / M, false);
  column_reduce(M, C, [=] __device__(int64_t r, int64_t c) {
    const double d = double(x[r * C + c]) - mean[c];
    return d * d;
  }, var_biased, 1.0f / M, false);
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

void bn_apply(const float* x, const float* mean, const float* invstd, const float* gamma, const float* beta, float* y,
              int64_t M, int64_t C) {
  map(M * C, [=] __device__(int64_t i) {
    const int64_t c = i % C;
    y[i] = math::bn_apply(x[i], mean[c], invstd[c], gamma[c], beta[c]);
  });
}

void bn_backward_sums(const float* x, const float* dy, const float* mean, const float* invstd, int64_t M, int64_t C,
                      float* sum_dy, float* sum_dy_xhat) {
  column_reduce(M, C, [=] __device__(int64_t r, int64_t c) { return double(dy[r * C + c]); }, sum_dy, 1.0f, false);
  column_reduce(M, C, [=] __device__(int64_t r, int64_t c) {
    return double(dy[r * C + c]) * math::bn_xhat(x[r * C + c], mean[c], invstd[c]);
  }, sum_dy_xhat, 1.0f, false);
}

void bn_backward_input(const float* x, const float* dy, const float* mean, const float* invstd, const float* gamma,
                       const float* sum_dy, const float* sum_dy_xhat, bool training, int64_t M, int64_t C, float* dx) {
  map(M * C, [=] __device__(int64_t i) {
    const int64_t c = i % C;
    const float xhat = math::bn_xhat(x[i], mean[c], invstd[c]);
    dx[i] += training ? math::bn_backward_train(dy[i], xhat, gamma[c], invstd[c], sum_dy[c], sum_dy_xhat[c], float(M))
                      : math::bn_backward_eval(dy[i], gamma[c], invstd[c]);
  });
}

// ---- pooling ---------------------------------------------------------------------------------------
void window_mean(const float* x, int N, int H, int W, int C, int kh, int kw, float* y) {
  const int Ho = H / kh, Wo = W / kw;
  map(int64_t(N) * Ho * Wo * C, [=] __device__(int64_t o) {
    const int64_t c = o % C, p = o / C, ow = p % Wo, oh = (p / Wo) % Ho, n = p / (Wo * Ho);
    float total = 0;
    for (int i = 0; i < kh; ++i)
      for (int j = 0; j < kw; ++j) total += x[((n * H + oh * kh + i) * W + ow * kw + j) * C + c];
    y[o] = math::window_mean(total, kh * kw);
  });
}

void window_mean_backward(const float* dy, int N, int H, int W, int C, int kh, int kw, float* dx) {
  const int Ho = H / kh, Wo = W / kw;
  map(int64_t(N) * H * W * C, [=] __device__(int64_t i) {
    const int64_t c = i % C, p = i / C, w = p % W, h = (p / W) % H, n = p / (W * H);
    dx[i] += math::window_share(dy[((n * Ho + h / kh) * Wo + w / kw) * C + c], kh * kw);
  });
}

// ---- losses ----------------------------------------------------------------------------------------
void xent_label_rows(const float* z, const int64_t* labels, int64_t N, int64_t C, float* row_loss) {
  map(N, [=] __device__(int64_t i) {
    row_loss[i] = math::softmax_xent_label_row<float>(z + i * C, labels[i], int(C), nullptr);
  });
}

void xent_label_backward(const float* z, const int64_t* labels, int64_t N, int64_t C, const float* dloss, float scale,
                         float* dz) {
  Scratch g(N * C);
  float* grad = g.p;
  map(N, [=] __device__(int64_t i) { math::softmax_xent_label_row<float>(z + i * C, labels[i], int(C), grad + i * C); });
  map(N * C, [=] __device__(int64_t i) { dz[i] += dloss[0] * scale * grad[i]; });
}

void xent_soft_rows(const float* z, const float* t, int64_t N, int64_t C, float* row_loss) {
  map(N, [=] __device__(int64_t i) { row_loss[i] = math::softmax_xent_row<float>(z + i * C, t + i * C, int(C), nullptr); });
}

void xent_soft_backward(const float* z, const float* t, int64_t N, int64_t C, const float* dloss, float scale,
                        float* dz) {
  Scratch g(N * C);
  float* grad = g.p;
  map(N, [=] __device__(int64_t i) { math::softmax_xent_row<float>(z + i * C, t + i * C, int(C), grad + i * C); });
  map(N * C, [=] __device__(int64_t i) { dz[i] += dloss[0] * scale * grad[i]; });
}

void softmax_rows(const float* z, int64_t N, int64_t C, float* p) {
  map(N, [=] __device__(int64_t i) { math::softmax_row(z + i * C, int(C), p + i * C); });
}

void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y) {
  map(N * copies * C, [=] __device__(int64_t q) { y[q] = math::one_hot_entry<float>(labels[q / (copies * C)], q % C, C); });
}

// ---- optimiser -------------------------------------------------------------------------------------
void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov, bool first) {
  map(n, [=] __device__(int64_t i) { math::sgd_update(p[i], g[i], buf[i], lr, momentum, weight_decay, nesterov, first); });
}

void ema_update(float* teacher, const float* student, int64_t n, float beta) {
  map(n, [=] __device__(int64_t i) { teacher[i] = math::ema(teacher[i], student[i], beta); });
}

}  // namespace mm::cuda
