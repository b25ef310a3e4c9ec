// The parameter updates: the dispatch to the device and the CPU loops (GPU: engine/ops/optim.cu).
#include "engine/ops/optim_kernels.h"

#include "engine/dispatch.h"
#include "engine/ops/optim_math.h"

namespace mm::kernels {

void sgd_update(Tensor& p, const Tensor& g, Tensor& buf, double lr, double momentum, double weight_decay, bool nesterov,
                bool first) {
  if (p.device().is_cuda())
    return MM_CUDA_CALL(cuda::sgd_update(p.data<float>(), g.data<float>(), buf.data<float>(), p.numel(), float(lr),
                                         float(momentum), float(weight_decay), nesterov, first));
  dispatch_floating(p.dtype(), "sgd", [&](auto t) {
    using T = decltype(t);
    T *pp = p.data<T>(), *pb = buf.data<T>();
    const T* pg = g.data<T>();
#pragma omp parallel for schedule(static) if (p.numel() > 32768)
    for (int64_t i = 0; i < p.numel(); ++i)
      math::sgd_update<T>(pp[i], pg[i], pb[i], T(lr), T(momentum), T(weight_decay), nesterov, first);
  });
}

void ema_update(Tensor& teacher, const Tensor& student, double beta) {
  if (teacher.device().is_cuda())
    return MM_CUDA_CALL(cuda::ema_update(teacher.data<float>(), student.data<float>(), teacher.numel(), float(beta)));
  dispatch_floating(teacher.dtype(), "ema_update", [&](auto tag) {
    using T = decltype(tag);
    T* pt = teacher.data<T>();
    const T* ps = student.data<T>();
#pragma omp parallel for schedule(static) if (teacher.numel() > 32768)  // as sgd_update: big tensors only
    for (int64_t i = 0; i < teacher.numel(); ++i) pt[i] = math::ema(pt[i], ps[i], T(beta));
  });
}

}  // namespace mm::kernels
