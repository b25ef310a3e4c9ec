#pragma once
// A small, explicitly seeded random generator (xoshiro256**, seeded through splitmix64), with the
// distributions the project needs. The state is four words, so checkpoints can save and restore it
// exactly. std:: distributions are avoided because their output differs between standard libraries.
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace mm {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    for (auto& s : state_) {
      seed += 0x9E3779B97F4A7C15ull;  // splitmix64
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }
  uint64_t next_u64() { return step(state_[0], state_[1], state_[2], state_[3]); }
  // One xoshiro256** step on the four state words: the output, and the words advanced. A template,
  // so that code running several generators in SIMD lanes (Word a vector of uint64_t,
  // mixup/samplers_kernels.cpp) runs the very same step.
  template <class Word>
  static Word step(Word& s0, Word& s1, Word& s2, Word& s3) {
    const Word times_5 = (s1 << 2) + s1, rotated = rotl(times_5, 7);  // x * 5 and x * 9 as shifts and
    const Word result = (rotated << 3) + rotated, t = s1 << 17;        // adds: AVX2 has no 64-bit multiply
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 45);
    return result;
  }
  using State = std::array<uint64_t, 4>;
  const State& state() const { return state_; }
  static Rng from_state(const State& state) {
    Rng rng;
    rng.state_ = state;
    return rng;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return (next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (rejection-free multiply-shift; bias < 2^-64 * n).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64); }
  // Standard normal by the ziggurat method (Marsaglia & Tsang 2000): the density's upper half is
  // covered by 128 layers of equal area, 127 rectangles and a base strip that holds the tail. One
  // 64-bit draw picks a layer (7 bits) and a signed position in it (53 bits); ~99 % of draws land
  // where the layer lies wholly under the curve and return at once, with no logarithm. The rest
  // test the wedge against exp(-x^2 / 2), or sample the tail beyond r (the base layer). Exact: the
  // output has the normal distribution. The Gamma draws of dense MultiMix (millions per step) rest on it.
  double normal() {
    const ZigguratTables& z = ziggurat();
    while (true) {
      const uint64_t bits = next_u64();
      const int layer = static_cast<int>(bits & 127);
      const double x = ziggurat_x((bits >> 11) * 0x1.0p-53, z.x[layer]);
      if (std::fabs(x) < z.x[layer + 1]) return x;  // inside the layer's rectangle under the curve
      if (layer == 0) {                               // the tail |x| > r (Marsaglia 1964)
        double a, b;
        do {
          a = -std::log(1.0 - uniform()) / ZigguratTables::r;
          b = -std::log(1.0 - uniform());
        } while (2.0 * b < a * a);
        return x < 0 ? -(ZigguratTables::r + a) : ZigguratTables::r + a;
      }
      // the wedge: a height uniform over the layer's span, accepted under the density
      if (z.f[layer + 1] + uniform() * (z.f[layer] - z.f[layer + 1]) < std::exp(-0.5 * x * x)) return x;
    }
  }

  // The first try of normal(), also for several lanes at once (D a vector of doubles): from the draw
  // `bits`, its layer bits & 127 and the uniform (bits >> 11) 2^-53, the candidate x at that uniform
  // across the layer of half-width `width`; normal() returns it when |x| < the next layer's width.
  template <class D>
  static D ziggurat_x(D uniform, D width) {
    return (2.0 * uniform - 1.0) * width;
  }
  // The layers' half-widths x[0..128].
  static const double* ziggurat_widths() { return ziggurat().x; }

 private:
  // The 128-layer ziggurat of N(0, 1)'s unnormalised density f(x) = exp(-x^2 / 2): x[i] is the
  // half-width of layer i (x[0] = v / f(r), the base strip's width that gives it area v; x[1] = r;
  // x[128] = 0), f[i] = f(x[i]). Each layer has area v; r and v are the paper's constants for 128.
  struct ZigguratTables {
    static constexpr double r = 3.442619855899, v = 9.91256303526217e-3;
    double x[129], f[129];
    ZigguratTables() {
      x[0] = v / std::exp(-0.5 * r * r);
      x[1] = r;
      for (int i = 1; i < 127; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(v / x[i] + std::exp(-0.5 * x[i] * x[i])));
      x[128] = 0;
      for (int i = 0; i <= 128; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
    }
  };
  static const ZigguratTables& ziggurat() {
    static const ZigguratTables tables;
    return tables;
  }

  template <class Word>
  static Word rotl(Word x, int k) {
    return (x << k) | (x >> (64 - k));
  }
  std::array<uint64_t, 4> state_{};
};

// A generator seeded from several numbers (seed, epoch, step, ...): the way every random draw of a
// run is made a function of where it happens, independent of threads and timing.
inline Rng seeded_rng(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x243F6A8885A308D3ull;
  for (uint64_t p : parts) h = Rng(h ^ p).next_u64();
  return Rng(h);
}

}  // namespace mm
