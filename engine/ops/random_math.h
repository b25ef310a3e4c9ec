#pragma once
// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): ten rounds
// of a bijection of a 128-bit counter keyed by 64 bits. Counter-based: the i-th number of a stream
// needs no state, so any thread on any device computes it directly. Written once for both devices.
#include <cstdint>

#include "engine/hd.h"

namespace mm::math {

struct Philox4x32 {
  uint32_t v[4];
};

MM_HD uint32_t mul_hi32(uint32_t a, uint32_t b) { return static_cast<uint32_t>((uint64_t(a) * b) >> 32); }

// The four 32-bit words that the 128-bit counter c gives under the key (k0, k1).
MM_HD Philox4x32 philox4x32_10(Philox4x32 c, uint32_t k0, uint32_t k1) {
  uint32_t c0 = c.v[0], c1 = c.v[1], c2 = c.v[2], c3 = c.v[3];
  for (int round = 0; round < 10; ++round) {
    const uint32_t lo0 = 0xD2511F53u * c0, hi0 = mul_hi32(0xD2511F53u, c0);
    const uint32_t lo1 = 0xCD9E8D57u * c2, hi1 = mul_hi32(0xCD9E8D57u, c2);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;  // the Weyl sequence of the key
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Element i of stream `seed`, uniform in [0, 1): word i % 4 of block i / 4 (the counter, with the
// seed as the key), its top 24 bits.
template <class T> MM_HD T uniform_at(uint64_t seed, uint64_t i) {
  const uint64_t block_index = i / 4;
  const Philox4x32 block = philox4x32_10({{uint32_t(block_index), uint32_t(block_index >> 32), 0u, 0u}}, uint32_t(seed),
                                         uint32_t(seed >> 32));
  return T(block.v[i % 4] >> 8) * T(1.0 / 16777216.0);
}

// A seed made of a salt and, optionally, a key read from memory (mm::Seed, engine/ops/random.h):
// splitmix64 of the two, so that nearby keys and salts give unrelated seeds. key == nullptr: the
// salt is the seed.
MM_HD uint64_t keyed_seed(uint64_t key, uint64_t salt) {
  uint64_t z = key + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
MM_HD uint64_t seed_of(const int64_t* key, uint64_t salt) { return key ? keyed_seed(uint64_t(*key), salt) : salt; }

// 1 with probability p: the uniform of element i below p.
template <class T> MM_HD T bernoulli_at(uint64_t seed, uint64_t i, T p) { return uniform_at<T>(seed, i) < p ? T(1) : T(0); }

}  // namespace mm::math
