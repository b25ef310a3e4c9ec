#pragma once
// The CUDA twins of the CPU kernels (float32). Plain C++ declarations: the ops in engine/*.cpp
// call them when their tensors live on the GPU. Per-element math comes from engine/math.h, the
// same functions the CPU loops call. "accumulate" means +=, as every backward does.
#include <cstdint>

namespace mm::cuda {

// ---- reductions (until the loss family moves to engine/ops) --------------------------------------
void sum(const float* x, int64_t n, float weight, float* out);                       // out[0] = weight * sum x
void axpy(float alpha, const float* x, float* y, int64_t n);                         // y += alpha x

// ---- batch norm over [M, C] ----------------------------------------------------------------------
void bn_statistics(const float* x, int64_t M, int64_t C, float* mean, float* var_biased);
void bn_update_running(float* running_mean, float* running_var, const float* mean, const float* var_biased,
                       int64_t M, int64_t C, float momentum);
void increment(int64_t* counter);  // counter[0] += 1 (num_batches_tracked)
void bn_invstd(const float* var, int64_t C, float eps, float* invstd);
void bn_apply(const float* x, const float* mean, const float* invstd, const float* gamma, const float* beta, float* y,
              int64_t M, int64_t C);
// Sums for the backward: sum_dy[c], sum_dy_xhat[c].
void bn_backward_sums(const float* x, const float* dy, const float* mean, const float* invstd, int64_t M, int64_t C,
                      float* sum_dy, float* sum_dy_xhat);
void bn_backward_input(const float* x, const float* dy, const float* mean, const float* invstd, const float* gamma,
                       const float* sum_dy, const float* sum_dy_xhat, bool training, int64_t M, int64_t C, float* dx);

// ---- pooling ---------------------------------------------------------------------------------------
void window_mean(const float* x, int N, int H, int W, int C, int kh, int kw, float* y);
void window_mean_backward(const float* dy, int N, int H, int W, int C, int kh, int kw, float* dx);

// ---- losses ----------------------------------------------------------------------------------------
// Per-row losses (and, with grad != null, per-row gradients scaled by row_scale[i] * dscale[0]).
void xent_label_rows(const float* z, const int64_t* labels, int64_t N, int64_t C, float* row_loss);
void xent_label_backward(const float* z, const int64_t* labels, int64_t N, int64_t C, const float* dloss, float scale,
                         float* dz);
void xent_soft_rows(const float* z, const float* t, int64_t N, int64_t C, float* row_loss);
void xent_soft_backward(const float* z, const float* t, int64_t N, int64_t C, const float* dloss, float scale,
                        float* dz);
void softmax_rows(const float* z, int64_t N, int64_t C, float* p);
// y [N, copies, C]: row i repeated, one-hot of labels[i] (math::one_hot_entry).
void one_hot(const int64_t* labels, int64_t N, int64_t C, int64_t copies, float* y);

// ---- optimiser -------------------------------------------------------------------------------------
void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov, bool first);
void ema_update(float* teacher, const float* student, int64_t n, float beta);

}  // namespace mm::cuda
