// The CUDA twins of the group-norm kernels (engine/ops/group_norm_kernels.h): one thread per group
// for its sums, one per element for the rest, the per-element math of engine/ops/group_norm_math.h.
#include "engine/cuda/context.cuh"
#include "engine/ops/group_norm_kernels.h"
#include "engine/ops/group_norm_math.h"

namespace mm::cuda {

template <class S>
void gn_statistics(const S* x, int64_t N, int64_t P, int64_t C, int64_t G, float eps, float* mean, float* invstd) {
  const int64_t Cg = C / G, M = P * Cg;
  map(N * G, [=] __device__(int64_t q) {
    const int64_t n = q / G, g = q % G;
    double total = 0, squares = 0;
    for (int64_t j = 0; j < M; ++j) total += float(x[math::gn_offset(n, g, j, P, C, Cg)]);
    const double mu = total / M;
    for (int64_t j = 0; j < M; ++j) {
      const double d = float(x[math::gn_offset(n, g, j, P, C, Cg)]) - mu;
      squares += d * d;
    }
    mean[q] = float(mu);
    invstd[q] = math::bn_invstd(float(squares / M), eps);
  });
}

template <class S>
void gn_apply(const S* x, const float* mean, const float* invstd, const float* gamma, const float* beta, int64_t N, int64_t P,
              int64_t C, int64_t G, S* y) {
  const int64_t Cg = C / G;
  map(N * P * C, [=] __device__(int64_t i) {
    const int64_t c = i % C, q = (i / C / P) * G + c / Cg;
    y[i] = S(math::bn_apply(float(x[i]), mean[q], invstd[q], gamma[c], beta[c]));
  });
}

template <class S>
void gn_backward(const S* x, const S* dy, const float* mean, const float* invstd, const float* gamma, int64_t N, int64_t P,
                 int64_t C, int64_t G, S* dx, float* dgamma, float* dbeta) {
  const int64_t Cg = C / G, M = P * Cg;
  if (dx) {
    Scratch sums(2 * N * G);
    float* s = sums.p;
    map(N * G, [=] __device__(int64_t q) {
      const int64_t n = q / G, g = q % G;
      double sum_g = 0, sum_g_xhat = 0;
      for (int64_t j = 0; j < M; ++j) {
        const int64_t i = math::gn_offset(n, g, j, P, C, Cg);
        const double gj = double(float(dy[i])) * gamma[i % C];
        sum_g += gj, sum_g_xhat += gj * math::bn_xhat(float(x[i]), mean[q], invstd[q]);
      }
      s[2 * q] = float(sum_g), s[2 * q + 1] = float(sum_g_xhat);
    });
    map(N * P * C, [=] __device__(int64_t i) {
      const int64_t c = i % C, q = (i / C / P) * G + c / Cg;
      dx[i] = S(float(dx[i]) + math::gn_backward(float(dy[i]) * gamma[c], math::bn_xhat(float(x[i]), mean[q], invstd[q]),
                                                 invstd[q], s[2 * q], s[2 * q + 1], float(M)));
    });
  }
  const int64_t rows = N * P;
  if (dgamma)
    column_reduce(rows, C, [=] __device__(int64_t r, int64_t c) {
      const int64_t q = (r / P) * G + c / Cg;
      return double(float(dy[r * C + c])) * math::bn_xhat(float(x[r * C + c]), mean[q], invstd[q]);
    }, dgamma, 1.0f, true);
  if (dbeta)
    column_reduce(rows, C, [=] __device__(int64_t r, int64_t c) { return double(float(dy[r * C + c])); }, dbeta, 1.0f, true);
}

#define MM_INSTANTIATE(S)                                                                                          \
  template void gn_statistics<S>(const S*, int64_t, int64_t, int64_t, int64_t, float, float*, float*);             \
  template void gn_apply<S>(const S*, const float*, const float*, const float*, const float*, int64_t, int64_t,    \
                            int64_t, int64_t, S*);                                                                 \
  template void gn_backward<S>(const S*, const S*, const float*, const float*, const float*, int64_t, int64_t,     \
                               int64_t, int64_t, S*, float*, float*);
MM_INSTANTIATE(float)
MM_INSTANTIATE(bf16)
#undef MM_INSTANTIATE

}  // namespace mm::cuda
