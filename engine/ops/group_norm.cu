// The CUDA twins of the group-norm kernels (engine/ops/group_norm_kernels.h), with the per-element
// math of engine/ops/group_norm_math.h. A group's sums are computed as the CPU computes them: the sum
// of each (example, channel) over the example's P positions, then each group's Cg channels added in
// order. The first step is a column reduction (column_reduce2, engine/cuda/context.cuh) over x viewed
// as P rows of N C columns, so that a warp reads adjacent channels (one thread per group, the shape
// before, left a few thousand threads each walking its group's values one by one).
#include "engine/cuda/context.cuh"
#include "engine/ops/group_norm_kernels.h"
#include "engine/ops/group_norm_math.h"

namespace mm::cuda {

namespace {
// x [N, P, C] viewed as P rows of N C columns: column n C + c is example n's channel c. Group
// q = n G + g is then columns q Cg .. q Cg + Cg - 1.
struct ExampleChannels {
  Divisor channels;  // by C
  int64_t P, C;
  ExampleChannels(int64_t N, int64_t P, int64_t C) : channels(C), P(P), C(C) {
    MM_CHECK(N * C < (int64_t(1) << 31), "group_norm: {} examples of {} channels exceed the GPU kernels' 2^31 columns",
             N, C);
  }
  // the channel c of column n C + c, and the offset in x of that column's value at position p:
  // (n P + p) C + c, with n C = column - c
  __device__ int64_t channel(int64_t column) const { return column - int64_t(channels.quotient(uint32_t(column))) * C; }
  __device__ int64_t offset(int64_t p, int64_t column, int64_t c) const { return (column - c) * P + p * C + c; }
  __device__ int64_t offset(int64_t p, int64_t column) const { return offset(p, column, channel(column)); }
};

// f(i, c, q) for every element i of x [N, P, C], with its channel c and its group q = n G + c / Cg.
// The index math through mm::Divisor where i < 2^31 (three 64-bit divisions per element would cost
// more than the element's loads and store; see map_columns).
template <class F>
void map_groups(int64_t N, int64_t P, int64_t C, int64_t G, F f) {
  const int64_t count = N * P * C, Cg = C / G;
  if (count < (int64_t(1) << 31)) {
    const Divisor channels(C), examples(P * C), groups(Cg);
    map(count, [=] __device__(int64_t i) {
      const uint32_t c = channels.remainder(uint32_t(i));
      f(i, int64_t(c), int64_t(examples.quotient(uint32_t(i))) * G + groups.quotient(c));
    });
  } else {
    map(count, [=] __device__(int64_t i) { f(i, i % C, (i / (P * C)) * G + i % C / Cg); });
  }
}

}  // namespace

template <class S>
void gn_statistics(const S* x, int64_t N, int64_t P, int64_t C, int64_t G, float eps, float* mean, float* invstd) {
  const int64_t Cg = C / G, M = P * Cg, columns = N * C;
  const ExampleChannels at(N, P, C);
  const Divisor group_of(Cg);  // column -> its group q
  Scratch<double> channel_sums(columns), group_means(N * G);
  double *sums = channel_sums.p, *mu = group_means.p;
  // the mean of each group, then the mean square of its deviations (two passes, as on the CPU)
  column_reduce2(P, columns, [=] __device__(int64_t p, int64_t column) {
    return make_double2(double(float(x[at.offset(p, column)])), 0.0);
  }, [=] __device__(int64_t column, double total, double) { sums[column] = total; });
  map(N * G, [=] __device__(int64_t q) { mu[q] = math::group_total(sums, q, Cg) / M; });
  column_reduce2(P, columns, [=] __device__(int64_t p, int64_t column) {
    const double d = float(x[at.offset(p, column)]) - mu[group_of.quotient(uint32_t(column))];
    return make_double2(d * d, 0.0);
  }, [=] __device__(int64_t column, double total, double) { sums[column] = total; });
  map(N * G, [=] __device__(int64_t q) {
    mean[q] = float(mu[q]);
    invstd[q] = math::bn_invstd(float(math::group_total(sums, q, Cg) / M), eps);
  });
}

template <class S>
void gn_apply(const S* x, const float* mean, const float* invstd, const float* gamma, const float* beta, int64_t N, int64_t P,
              int64_t C, int64_t G, S* y) {
  map_groups(N, P, C, G, [=] __device__(int64_t i, int64_t c, int64_t q) {
    y[i] = S(math::bn_apply(float(x[i]), mean[q], invstd[q], gamma[c], beta[c]));
  });
}

template <class S>
void gn_backward(const S* x, const S* dy, const float* mean, const float* invstd, const float* gamma, int64_t N, int64_t P,
                 int64_t C, int64_t G, S* dx, float* dgamma, float* dbeta) {
  const int64_t Cg = C / G, M = P * Cg;
  if (dx) {
    // per (example, channel): the sums of g = dy gamma and g xhat over the positions; then per group
    const ExampleChannels at(N, P, C);
    const Divisor group_of(Cg);
    Scratch<double> channel_sums_g(N * C), channel_sums_g_xhat(N * C);
    Scratch<float> group_sums(2 * N * G);
    double *sums_g = channel_sums_g.p, *sums_g_xhat = channel_sums_g_xhat.p;
    float* s = group_sums.p;
    column_reduce2(P, N * C, [=] __device__(int64_t p, int64_t column) {
      const int64_t c = at.channel(column), i = at.offset(p, column, c), q = group_of.quotient(uint32_t(column));
      const double g = double(float(dy[i])) * gamma[c];
      return make_double2(g, g * math::bn_xhat(float(x[i]), mean[q], invstd[q]));
    }, [=] __device__(int64_t column, double sum_g, double sum_g_xhat) {
      sums_g[column] = sum_g, sums_g_xhat[column] = sum_g_xhat;
    });
    map(N * G, [=] __device__(int64_t q) {
      s[2 * q] = float(math::group_total(sums_g, q, Cg)), s[2 * q + 1] = float(math::group_total(sums_g_xhat, q, Cg));
    });
    map_groups(N, P, C, G, [=] __device__(int64_t i, int64_t c, int64_t q) {
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
