// The CUDA twins of the parameter updates (engine/ops/optim_kernels.h).
#include "engine/cuda/context.cuh"
#include "engine/ops/optim_kernels.h"
#include "engine/ops/optim_math.h"

namespace mm::cuda {

void sgd_update(float* p, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov, bool first) {
  map(n, [=] __device__(int64_t i) { math::sgd_update(p[i], g[i], buf[i], lr, momentum, weight_decay, nesterov, first); });
}

void ema_update(float* teacher, const float* student, int64_t n, float beta) {
  map(n, [=] __device__(int64_t i) { teacher[i] = math::ema(teacher[i], student[i], beta); });
}

}  // namespace mm::cuda
