// The group-norm kernels: the dispatch to the device and the CPU loops (GPU: engine/ops/group_norm.cu).
#include "engine/ops/group_norm_kernels.h"

#include <algorithm>
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


// One example's per-group values [G] spread to its channels [C].
template <class T>
std::vector<T> per_channel(const T* per_group, const GroupShape& s) {
  std::vector<T> out(s.C);
  for (int64_t c = 0; c < s.C; ++c) out[c] = per_group[c / s.Cg];
  return out;
}

// An example's rows are few values at small widths (16 positions of 64 channels in the last
// stage), so its channel values are repeated along spans of 64 values, not batch norm's 512.
constexpr int64_t kGroupSpanValues = 64;
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
    // Example by example (in parallel): the mean of each group, then the mean square of its
    // deviations, each from column sums over the example's P rows of C channels (contiguous rows the
    // compiler vectorises; a group's values one by one are strided by C) added up per group.
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      const T* x_n = px + n * s.P * s.C;
      std::vector<double> sums(s.C, 0.0), mu(s.C);
      add_column_sums<1>(0, s.P, s.C, [&](int64_t r, int64_t c) { return std::array<double, 1>{double(x_n[r * s.C + c])}; },
                         sums.data());
      for (int64_t g = 0; g < s.G; ++g) {
        const double mean_g = math::group_total(sums.data(), g, s.Cg) / s.M;
        for (int64_t c = g * s.Cg; c < (g + 1) * s.Cg; ++c) mu[c] = mean_g;
      }
      std::fill(sums.begin(), sums.end(), 0.0);
      add_column_sums<1>(0, s.P, s.C, [&](int64_t r, int64_t c) {
        const double d = x_n[r * s.C + c] - mu[c];
        return std::array<double, 1>{d * d};
      }, sums.data());
      for (int64_t g = 0; g < s.G; ++g) {
        mean.data<T>()[n * s.G + g] = T(mu[g * s.Cg]);
        invstd.data<T>()[n * s.G + g] = math::bn_invstd(T(math::group_total(sums.data(), g, s.Cg) / s.M), T(eps));
      }
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
    // example by example, its channels' statistics spread over spans of its rows (ChannelSpans)
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      const std::vector<T> mean_c = per_channel(pm + n * s.G, s), invstd_c = per_channel(pi + n * s.G, s);
      const ChannelSpans<T, 4> spans(s.C, {mean_c.data(), invstd_c.data(), gm, bt}, kGroupSpanValues);
      const T* x_n = px + n * s.P * s.C;
      T* y_n = py + n * s.P * s.C;
      spans.for_each_span_here(s.P * s.C, [&](int64_t first, int64_t count, std::array<const T*, 4> channel) {
        const T *m = channel[0], *i = channel[1], *g = channel[2], *b = channel[3];
        for (int64_t j = 0; j < count; ++j) y_n[first + j] = math::bn_apply(x_n[first + j], m[j], i[j], g[j], b[j]);
      });
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
    T* pdx = dx ? dx->data<T>() : nullptr;
    // Example by example (in parallel): per channel, the sums over its P rows of g = dy gamma and
    // g xhat (for dx, added up per group), and of dy xhat and dy (dgamma and dbeta, added up over the
    // examples in order afterwards, so the totals do not depend on the number of threads).
    std::vector<double> example_sums(s.N * 2 * s.C);  // [N, 2, C]: dy xhat, dy
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      const T *x_n = px + n * s.P * s.C, *dy_n = pdy + n * s.P * s.C;
      const std::vector<T> mean_c = per_channel(pm + n * s.G, s), invstd_c = per_channel(pi + n * s.G, s);
      std::vector<double> sums(4 * s.C, 0.0);  // g, g xhat, dy xhat, dy
      add_column_sums<4>(0, s.P, s.C, [&](int64_t r, int64_t c) {
        const int64_t i = r * s.C + c;
        const T xhat = math::bn_xhat(x_n[i], mean_c[c], invstd_c[c]);
        const double g = double(dy_n[i]) * gm[c];
        return std::array<double, 4>{g, g * xhat, double(dy_n[i]) * xhat, double(dy_n[i])};
      }, sums.data());
      std::copy(sums.begin() + 2 * s.C, sums.end(), example_sums.begin() + n * 2 * s.C);
      if (!pdx) continue;
      std::vector<T> sum_g(s.C), sum_g_xhat(s.C);
      for (int64_t g = 0; g < s.G; ++g)
        for (int64_t c = g * s.Cg; c < (g + 1) * s.Cg; ++c)
          sum_g[c] = T(math::group_total(sums.data(), g, s.Cg)), sum_g_xhat[c] = T(math::group_total(sums.data() + s.C, g, s.Cg));
      const ChannelSpans<T, 5> spans(s.C, {mean_c.data(), invstd_c.data(), gm, sum_g.data(), sum_g_xhat.data()},
                                     kGroupSpanValues);
      T* dx_n = pdx + n * s.P * s.C;
      spans.for_each_span_here(s.P * s.C, [&](int64_t first, int64_t count, std::array<const T*, 5> channel) {
        const T *m = channel[0], *is = channel[1], *gam = channel[2], *sg = channel[3], *sgx = channel[4];
        for (int64_t j = 0; j < count; ++j) {
          const int64_t i = first + j;
          dx_n[i] += math::gn_backward(dy_n[i] * gam[j], math::bn_xhat(x_n[i], m[j], is[j]), is[j], sg[j], sgx[j], T(s.M));
        }
      });
    }
    for (int64_t c = 0; c < s.C; ++c) {
      double dgamma_c = 0, dbeta_c = 0;
      for (int64_t n = 0; n < s.N; ++n) dgamma_c += example_sums[n * 2 * s.C + c], dbeta_c += example_sums[n * 2 * s.C + s.C + c];
      if (dgamma) dgamma->data<T>()[c] += T(dgamma_c);
      if (dbeta) dbeta->data<T>()[c] += T(dbeta_c);
    }
  });
}

}  // namespace mm::kernels
