// The dense MultiMix kernels: the dispatch to the device and the CPU loops (GPU: mixup/dense.cu).
#include "mixup/dense_kernels.h"

#include <algorithm>
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
  // A position's columns are strided by n (4 KB at n = 1000): a loop down one column, as the GPU's
  // thread per column runs (math::dense_column), would be scalar here. The CPU takes each position's
  // columns in blocks of kBlock and walks its rows, the block's sums s_k in a contiguous row that
  // vectorises: the same additions, in the same order of i, as the column loop.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  dispatch_floating(lambda.dtype(), "dense_weights", [&](auto t) {
    using T = decltype(t);
    const T *pa = attention.data<T>(), *pl = lambda.data<T>();
    T *pm = mtilde.data<T>(), *ps = s.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < r * blocks; ++q) {
      const int64_t j = q / blocks, k0 = (q % blocks) * kBlock, width = std::min(kBlock, n - k0);
      T* s_j = ps + j * n + k0;
      for (int64_t k = 0; k < width; ++k) s_j[k] = T(0);
      for (int64_t i = 0; i < m; ++i) {
        const T a = pa[i * r + j], *row = pl + (j * m + i) * n + k0;
        for (int64_t k = 0; k < width; ++k) s_j[k] += math::dense_mass(a, row[k]);
      }
      for (int64_t i = 0; i < m; ++i) {
        const T a = pa[i * r + j], *row = pl + (j * m + i) * n + k0;
        T* out = pm + (j * m + i) * n + k0;
        for (int64_t k = 0; k < width; ++k) out[k] = math::dense_weight(math::dense_mass(a, row[k]), s_j[k]);
      }
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
