// The dense MultiMix kernels: the dispatch to the device and the CPU loops (GPU: mixup/dense.cu).
#include "mixup/dense_kernels.h"

#include <vector>

#include "engine/dispatch.h"
#include "mixup/mix_math.h"

namespace mm::kernels {

void dense_attention(const Tensor& z, const Tensor& classifier_weight, const Tensor& labels, AttentionNorm norm, Tensor& a) {
  const int64_t m = z.dim(0), r = z.dim(1), d = z.dim(2);
  const bool cam = classifier_weight.defined();
  if (z.device().is_cuda())
    return MM_CUDA_CALL(cuda::dense_attention(z.data<float>(), cam ? classifier_weight.data<float>() : nullptr,
                                              cam ? labels.data<int64_t>() : nullptr, m, r, d, int(norm), a.data<float>()));
  dispatch_floating(z.dtype(), "dense_attention", [&](auto t) {
    using T = decltype(t);
    const T* pz = z.data<T>();
    T* pa = a.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      std::vector<T> u(d), q(r);
      const T* z_i = pz + i * r * d;
      for (int64_t e = 0; e < d; ++e)
        u[e] = cam ? classifier_weight.data<T>()[labels.data<int64_t>()[i] * d + e]
                   : math::gap_query(z_i, static_cast<int>(r), static_cast<int>(d), static_cast<int>(e));
      for (int64_t j = 0; j < r; ++j) q[j] = math::attention_score(z_i + j * d, u.data(), static_cast<int>(d));
      T* out = pa + i * r;
      switch (norm) {
        case AttentionNorm::Relu: math::normalise_relu(q.data(), static_cast<int>(r), out); break;
        case AttentionNorm::Softmax: math::normalise_softmax(q.data(), static_cast<int>(r), out); break;
        case AttentionNorm::Uniform: math::normalise_uniform(static_cast<int>(r), out); break;
      }
    }
  });
}

void dense_weights(const Tensor& attention, const Tensor& lambda, Tensor& mtilde, Tensor& s) {
  const int64_t r = lambda.dim(0), m = lambda.dim(1), n = lambda.dim(2);
  if (lambda.device().is_cuda())
    return MM_CUDA_CALL(cuda::dense_weights(attention.data<float>(), lambda.data<float>(), r, m, n, mtilde.data<float>(),
                                            s.data<float>()));
  dispatch_floating(lambda.dtype(), "dense_weights", [&](auto t) {
    using T = decltype(t);
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < r * n; ++q) {
      const int64_t j = q / n, k = q % n;
      s.data<T>()[q] = math::dense_column(attention.data<T>() + j, static_cast<int>(r),
                                            lambda.data<T>() + j * m * n + k, static_cast<int>(m), static_cast<int>(n),
                                            mtilde.data<T>() + j * m * n + k);
    }
  });
}

void dense_mixing_weights(const Tensor& z, const Tensor& classifier_weight, const Tensor& labels, AttentionNorm norm,
                          const Tensor& lambda, Tensor& attention, Tensor& mtilde, Tensor& s) {
  if (z.device().is_cuda())
    return MM_CUDA_CALL(cuda::dense_mixing_weights(
        z.data<float>(), classifier_weight.defined() ? classifier_weight.data<float>() : nullptr,
        classifier_weight.defined() ? labels.data<int64_t>() : nullptr,
        lambda.data<float>(), z.dim(0), z.dim(1), z.dim(2), lambda.dim(2), int(norm), attention.data<float>(),
        mtilde.data<float>(), s.data<float>()));
  dense_attention(z, classifier_weight, labels, norm, attention);
  dense_weights(attention, lambda, mtilde, s);
}

}  // namespace mm::kernels
