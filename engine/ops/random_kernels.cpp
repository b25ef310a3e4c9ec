// The random kernels: the dispatch to the device and the CPU loops (CUDA: engine/ops/random.cu).
#include "engine/ops/random_kernels.h"

#include "engine/dispatch.h"
#include "engine/ops/random_math.h"

namespace mm::kernels {

void random_uniform(const Seed& s, Tensor& y) {
  if (y.device().is_cuda()) return MM_CUDA_CALL(cuda::random_uniform(s.key_on(y.device()), s.salt, y.data<float>(), y.numel()));
  const uint64_t seed = s.value();
  dispatch_floating(y.dtype(), "random_uniform", [&](auto t) {
    using T = decltype(t);
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (y.numel() > 32768)
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = math::uniform_at<T>(seed, static_cast<uint64_t>(i));
  });
}

void random_bernoulli(const Seed& s, double p, Tensor& y) {
  if (y.device().is_cuda())
    return MM_CUDA_CALL(cuda::random_bernoulli(s.key_on(y.device()), s.salt, float(p), y.data<float>(), y.numel()));
  const uint64_t seed = s.value();
  dispatch_floating(y.dtype(), "random_bernoulli", [&](auto t) {
    using T = decltype(t);
    T* py = y.data<T>();
#pragma omp parallel for schedule(static) if (y.numel() > 32768)
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = math::bernoulli_at<T>(seed, static_cast<uint64_t>(i), T(p));
  });
}

}  // namespace mm::kernels
