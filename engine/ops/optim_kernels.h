#pragma once
// The parameter updates behind one device-neutral interface (CPU: engine/ops/optim_kernels.cpp;
// GPU: mm::cuda below, engine/ops/optim.cu). Used by Sgd (engine/optim.h) and the EMA teacher
// (mixup/ema.h). All tensors of a call have the same numel, device and dtype.
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {
// p, buf updated in place by math::sgd_update with gradient g (first: buf is not yet set).
void sgd_update(Tensor& p, const Tensor& g, Tensor& buf, double lr, double momentum, double weight_decay, bool nesterov,
                bool first);
// teacher = math::ema(teacher, student, beta).
void ema_update(Tensor& teacher, const Tensor& student, double beta);
}  // namespace mm::kernels

namespace mm::cuda {
void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov, bool first);
void ema_update(float* teacher, const float* student, int64_t n, float beta);
}  // namespace mm::cuda
