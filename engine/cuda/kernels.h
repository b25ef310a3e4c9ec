#pragma once
// The CUDA twins of the CPU kernels (float32). Plain C++ declarations: the ops in engine/*.cpp
// call them when their tensors live on the GPU. Per-element math comes from engine/math.h, the
// same functions the CPU loops call. "accumulate" means +=, as every backward does.
#include <cstdint>

namespace mm::cuda {

// ---- reductions (until the loss family moves to engine/ops) --------------------------------------
void sum(const float* x, int64_t n, float weight, float* out);                       // out[0] = weight * sum x
void axpy(float alpha, const float* x, float* y, int64_t n);                         // y += alpha x

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
