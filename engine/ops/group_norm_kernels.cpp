// The group-norm kernels: the dispatch to the device and the CPU loops (GPU: engine/ops/group_norm.cu).
#include "engine/ops/group_norm_kernels.h"

#include <array>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops/group_norm_math.h"

namespace mm::kernels {

namespace {
// The sizes of x viewed as [N, P, C] with G groups of Cg channels; M values per group.
struct GroupShape {
  int64_t N, P, C, G, Cg, M;
  GroupShape(const Tensor& x, int groups)
      : N(x.dim(0)), P(x.numel() / x.dim(0) / x.dim(-1)), C(x.dim(-1)), G(groups), Cg(C / groups), M(P * C / groups) {}
};
}  // namespace

void gn_statistics(const Tensor& x, int groups, double eps, Tensor& mean, Tensor& invstd) {
  const GroupShape s(x, groups);
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "group_norm", [&](auto storage) {
      using S = decltype(storage);
      cuda::gn_statistics(x.data<S>(), s.N, s.P, s.C, s.G, float(eps), mean.data<float>(), invstd.data<float>());
    }));
  if (bf16_as_float32({&x}, {}, [&](auto& in, auto&) { gn_statistics(in[0], groups, eps, mean, invstd); })) return;
  dispatch_floating(x.dtype(), "group_norm", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < s.N * s.G; ++q) {
      const int64_t n = q / s.G, g = q % s.G;
      double total = 0, squares = 0;
      for (int64_t j = 0; j < s.M; ++j) total += px[math::gn_offset(n, g, j, s.P, s.C, s.Cg)];
      const double mu = total / s.M;
      for (int64_t j = 0; j < s.M; ++j) {
        const double d = px[math::gn_offset(n, g, j, s.P, s.C, s.Cg)] - mu;
        squares += d * d;
      }
      mean.data<T>()[q] = T(mu);
      invstd.data<T>()[q] = math::bn_invstd(T(squares / s.M), T(eps));
    }
  });
}

void gn_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
              int groups, Tensor& y) {
  const GroupShape s(x, groups);
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "group_norm", [&](auto storage) {
      using S = decltype(storage);
      cuda::gn_apply(x.data<S>(), mean.data<float>(), invstd.data<float>(), gamma.data<float>(), beta.data<float>(), s.N,
                     s.P, s.C, s.G, y.data<S>());
    }));
  if (bf16_as_float32({&x}, {&y}, [&](auto& in, auto& out) { gn_apply(in[0], mean, invstd, gamma, beta, groups, out[0]); }))
    return;
  dispatch_floating(x.dtype(), "group_norm", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>(), *gm = gamma.data<T>(), *bt = beta.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < s.N * s.P; ++r)
      for (int64_t c = 0; c < s.C; ++c) {
        const int64_t q = (r / s.P) * s.G + c / s.Cg;
        py[r * s.C + c] = math::bn_apply(px[r * s.C + c], pm[q], pi[q], gm[c], bt[c]);
      }
  });
}

void gn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                 int groups, Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
  const GroupShape s(x, groups);
  if (x.device().is_cuda())
    return MM_CUDA_CALL(dispatch_storage(x.dtype(), "group_norm backward", [&](auto storage) {
      using S = decltype(storage);
      cuda::gn_backward(x.data<S>(), dy.data<S>(), mean.data<float>(), invstd.data<float>(), gamma.data<float>(), s.N, s.P,
                        s.C, s.G, dx ? dx->data<S>() : nullptr, dgamma ? dgamma->data<float>() : nullptr,
                        dbeta ? dbeta->data<float>() : nullptr);
    }));
  if (bf16_as_float32({&x, &dy}, {dx}, [&](auto& in, auto& out) {
        gn_backward(in[0], in[1], mean, invstd, gamma, groups, dx ? &out[0] : nullptr, dgamma, dbeta);
      }))
    return;
  dispatch_floating(x.dtype(), "group_norm backward", [&](auto t) {
    using T = decltype(t);
    const T *px = x.data<T>(), *pdy = dy.data<T>(), *pm = mean.data<T>(), *pi = invstd.data<T>(), *gm = gamma.data<T>();
    auto xhat = [&](int64_t i, int64_t q) { return math::bn_xhat(px[i], pm[q], pi[q]); };
    if (dx) {
      T* pdx = dx->data<T>();
#pragma omp parallel for schedule(static)
      for (int64_t q = 0; q < s.N * s.G; ++q) {
        const int64_t n = q / s.G, g = q % s.G;
        double sum_g = 0, sum_g_xhat = 0;
        for (int64_t j = 0; j < s.M; ++j) {
          const int64_t i = math::gn_offset(n, g, j, s.P, s.C, s.Cg);
          const double gj = double(pdy[i]) * gm[i % s.C];
          sum_g += gj, sum_g_xhat += gj * xhat(i, q);
        }
        for (int64_t j = 0; j < s.M; ++j) {
          const int64_t i = math::gn_offset(n, g, j, s.P, s.C, s.Cg);
          pdx[i] += math::gn_backward(pdy[i] * gm[i % s.C], xhat(i, q), pi[q], T(sum_g), T(sum_g_xhat), T(s.M));
        }
      }
    }
    if (!dgamma && !dbeta) return;
    // per channel, over every example and position
    const std::vector<double> sums = parallel_column_sums<2>(s.N * s.P, s.C, [&](int64_t r, int64_t c) {
      const int64_t i = r * s.C + c, q = (r / s.P) * s.G + c / s.Cg;
      return std::array<double, 2>{double(pdy[i]) * xhat(i, q), double(pdy[i])};
    });
    for (int64_t c = 0; c < s.C; ++c) {
      if (dgamma) dgamma->data<T>()[c] += T(sums[c]);
      if (dbeta) dbeta->data<T>()[c] += T(sums[s.C + c]);
    }
  });
}

}  // namespace mm::kernels
