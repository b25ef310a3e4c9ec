"""train_cifar's data stream in Python: its generator (engine/rng.h: xoshiro256** seeded through
splitmix64, seeded_rng's hash of several numbers) and its loader's draws (data/loader.cpp: the
epoch's Fisher-Yates order from (seed, epoch); data/augment_math.h: each example's crop offsets and
flip from one Philox-4x32-10 block, counter (position in the epoch, epoch, view), key the seed). train_reference.py --data-stream engine trains PyTorch on the
very batches train_cifar sees, to tell a difference of the data stream from one of the step.
"""
MASK = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Rng:
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & MASK
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))

    def next_u64(self):
        s = self.s
        result = (_rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next_u64() >> 11) * 2.0 ** -53

    def below(self, n):
        return (self.next_u64() * n) >> 64


def seeded_rng(parts):
    h = 0x243F6A8885A308D3
    for p in parts:
        h = Rng(h ^ p).next_u64()
    return Rng(h)


def epoch_order(seed, epoch, n):
    rng = seeded_rng([seed, epoch, 0xFFFFFFFF])
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


M32 = (1 << 32) - 1


def philox4x32_10(counter, key):
    """engine/ops/random_math.h: ten rounds over four 32-bit words keyed by two."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c0, c1, c2, c3


def crop_flip(seed, epoch, position, view=0):
    """(dy, dx, flip) of view `view` of the example at `position` of the epoch: offsets into the
    image padded by 4 (data/augment_math.h, crop_flip_at)."""
    r = philox4x32_10((position & M32, position >> 32, epoch & M32, view), (seed & M32, seed >> 32))
    return (r[0] * 9) >> 32, (r[1] * 9) >> 32, (r[2] >> 31) != 0


if __name__ == "__main__":
    # engine_stream.py SEED EPOCH N: the first 8 positions of that epoch's order of N examples and
    # their crop and flip draws, one line each (tests/test_data.cpp compares them with the C++)
    import sys

    seed, epoch, n = (int(a) for a in sys.argv[1:4])
    order = epoch_order(seed, epoch, n)
    for p in range(8):
        dy, dx, flip = crop_flip(seed, epoch, p)
        print(order[p], dy, dx, int(flip))
