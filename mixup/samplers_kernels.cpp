// The samplers' kernels: the dispatch to the device and the CPU loops (GPU: mixup/samplers.cu).
#include "mixup/samplers_kernels.h"

#include "engine/dispatch.h"
#include "engine/rng.h"
#include "mixup/sampler_math.h"

namespace mm::kernels {

namespace {
// ---- Dirichlet columns on the CPU, a column's draws in four SIMD lanes ----
// A column's m draws are Gamma variates of one shape, each the end of a rejection loop, on one
// generator: scalar code. On the CPU a column has instead kLanes generators, seeded from its
// generator (seed, j, k): lane l draws the column's entries l, l + kLanes, l + 2 kLanes, ... . The
// lanes run the generators' steps and the first try of each draw (the ziggurat's rectangle and
// Marsaglia-Tsang's squeezes, together ~95 % of the tries) as vector instructions (GCC's vector
// types); a lane whose try fails redraws that entry with math::sample_gamma from the state it had
// before the try. So every entry is exactly math::sample_gamma on its lane's generator
// (Samplers.DirichletLanesDrawWhatTheScalarSamplerDraws), in about 0.8 of the scalar loop's time
// (bench --kernels; the boost of alpha < 1 stays a scalar powf per draw, and the fallbacks take a
// quarter). The GPU splits a column's draws over eight threads (mixup/samplers.cu); the
// distribution is the same.
constexpr int kLanes = 4;
using LaneWords = uint64_t __attribute__((vector_size(8 * kLanes)));  // one state word of each lane
using LaneDoubles = double __attribute__((vector_size(8 * kLanes)));

struct LaneGenerators {
  LaneWords s0, s1, s2, s3;
  LaneWords next() { return Rng::step(s0, s1, s2, s3); }
  Rng lane(int l) const { return Rng::from_state({s0[l], s1[l], s2[l], s3[l]}); }
  void set_lane(int l, const Rng& rng) {
    const Rng::State& w = rng.state();
    s0[l] = w[0], s1[l] = w[1], s2[l] = w[2], s3[l] = w[3];
  }
};

// (bits >> 11) 2^-53 as Rng::uniform computes it, in each lane: from two halves that are exact doubles
// (2^52 + h has h in its mantissa), because AVX2 cannot convert 64-bit integers to doubles.
LaneDoubles lane_uniform(LaneWords bits) {
  const LaneWords v = bits >> 11, two_to_52 = LaneWords{} + 0x4330000000000000ull;
  const LaneDoubles high = reinterpret_cast<LaneDoubles>(two_to_52 | (v >> 32)) - 0x1p52;
  const LaneDoubles low = reinterpret_cast<LaneDoubles>(two_to_52 | (v & 0xffffffffull)) - 0x1p52;
  return (high * 0x1p32 + low) * 0x1.0p-53;
}

// One column: entry i (< m) to out[i * stride].
void dirichlet_column_in_lanes(Rng& column, int64_t m, double lo, double hi, float* out, int64_t stride) {
  const math::GammaShape shape = math::dirichlet_column_shape(column, lo, hi);
  LaneGenerators g;
  for (int l = 0; l < kLanes; ++l) g.set_lane(l, Rng(column.next_u64()));
  const double* widths = Rng::ziggurat_widths();
  double total = 0;
  for (int64_t i0 = 0; i0 < m; i0 += kLanes) {
    const LaneGenerators before = g;
    LaneDoubles boost = LaneDoubles{} + 1.0;
    if (shape.boosted) {  // the column's draws start with their boost uniform
      const LaneDoubles w = lane_uniform(g.next());
      for (int l = 0; l < kLanes; ++l) boost[l] = math::gamma_boost(w[l], shape.inverse_alpha);
    }
    const LaneWords normal_bits = g.next(), uniform_bits = g.next(), layer = normal_bits & 127;
    LaneDoubles width, inner_width;
    for (int l = 0; l < kLanes; ++l) width[l] = widths[layer[l]], inner_width[l] = widths[layer[l] + 1];
    const LaneDoubles x = Rng::ziggurat_x(lane_uniform(normal_bits), width);
    const LaneDoubles t = math::gamma_candidate_t(x, shape.c), u = 1.0 - lane_uniform(uniform_bits);
    const auto accepted =
        ((x < 0 ? -x : x) < inner_width) & (t > 0) & math::gamma_accepts_without_log(x, t, u, shape.c, shape.d);
    LaneDoubles value = shape.d * (t * t * t) * boost;
    for (int l = 0; l < kLanes && i0 + l < m; ++l) {
      if (!accepted[l]) {  // the whole draw again on the scalar path, from where the lane's generator was
        Rng rng = before.lane(l);
        value[l] = math::sample_gamma(rng, shape);
        g.set_lane(l, rng);
      }
      out[(i0 + l) * stride] = float(value[l]);
      total += value[l];
    }
  }
  for (int64_t i = 0; i < m; ++i) out[i * stride] = math::dirichlet_entry(out[i * stride], total);
}
}  // namespace

void sample_beta(const Seed& s, double a, double b, Tensor& out) {
  const int64_t count = out.numel();
  if (out.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_beta(s.key_on(out.device()), s.salt, count, a, b, out.data<float>()));
  const uint64_t seed = s.value();
  for (int64_t i = 0; i < count; ++i) {
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(i)});
    out.data<float>()[i] = static_cast<float>(math::sample_beta(rng, a, b));
  }
}

void sample_permutation(const Seed& s, Tensor& perm) {
  if (perm.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_permutation(s.key_on(perm.device()), s.salt, perm.numel(), perm.data<int64_t>()));
  Rng rng = seeded_rng({s.value()});
  math::sample_permutation(rng, perm.numel(), perm.data<int64_t>());
}

void sample_cutmix(const Seed& s, int64_t H, int64_t W, Tensor& box, Tensor& lam) {
  if (box.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_cutmix(s.key_on(box.device()), s.salt, H, W, box.data<int64_t>(), lam.data<float>()));
  Rng rng = seeded_rng({s.value()});
  int64_t* b = box.data<int64_t>();
  math::sample_cutmix_box(rng, H, W, math::sample_beta(rng, 1.0, 1.0), b);
  lam.data<float>()[0] = static_cast<float>(math::cutmix_kept_fraction(b, H, W));
}

void sample_dirichlet_columns(const Seed& s, double lo, double hi, Tensor& lambda) {
  const int64_t r = lambda.dim(0), m = lambda.dim(1), n = lambda.dim(2);
  if (lambda.device().is_cuda())
    return MM_CUDA_CALL(cuda::sample_dirichlet_columns(s.key_on(lambda.device()), s.salt, r, m, n, lo, hi, lambda.data<float>()));
  const uint64_t seed = s.value();
  float* out = lambda.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < r * n; ++q) {
    const int64_t j = q / n, k = q % n;
    Rng column = seeded_rng({seed, static_cast<uint64_t>(j), static_cast<uint64_t>(k)});
    dirichlet_column_in_lanes(column, m, lo, hi, out + j * m * n + k, n);
  }
}

}  // namespace mm::kernels
