#pragma once
// The training augmentation (docs/math.md §2), written once for the host loader and the GPU kernel
// (data/augment.cu): a random crop to the image size from the image zero-padded by 4 on each side,
// a horizontal flip with p = 0.5, then per-channel normalisation with the CIFAR mean and std (used
// for every dataset).
//
// The draws of an example are a function of (seed, epoch, position in the epoch's order, view):
// one Philox block (engine/ops/random_math.h), so a CPU and a GPU run, any number of loader threads
// and a resumed run all see the same crops and flips.
#include <cstdint>

#include "engine/hd.h"
#include "engine/ops/random_math.h"

namespace mm {

constexpr int kCropPadding = 4;

// One example's augmentation draws: the crop's top-left corner in the padded image
// (offsets in [0, 2 * padding]) and whether to flip.
struct CropFlip {
  int dy = kCropPadding, dx = kCropPadding;  // the default is the identity crop
  bool flip = false;
};

namespace math {

// The CIFAR-10 channel means and standard deviations.
MM_HD float channel_mean(int c) { return c == 0 ? 0.4914f : c == 1 ? 0.4822f : 0.4465f; }
MM_HD float channel_std(int c) { return c == 0 ? 0.2023f : c == 1 ? 0.1994f : 0.2010f; }

// The draws of view `view` (0, or 1 for distillation's second view) of the example at `position`
// of epoch `epoch`: the counter is (position, epoch, view), the key the run's seed. Offsets by
// multiply-shift of a 32-bit word (bias below 1e-8).
MM_HD CropFlip crop_flip_at(uint64_t seed, int64_t epoch, int64_t position, int view) {
  const uint64_t p = static_cast<uint64_t>(position);
  const Philox4x32 r = philox4x32_10({{uint32_t(p), uint32_t(p >> 32), uint32_t(epoch), uint32_t(view)}}, uint32_t(seed),
                                     uint32_t(seed >> 32));
  constexpr uint64_t kOffsets = 2 * kCropPadding + 1;
  CropFlip t;
  t.dy = static_cast<int>((uint64_t(r.v[0]) * kOffsets) >> 32);
  t.dx = static_cast<int>((uint64_t(r.v[1]) * kOffsets) >> 32);
  t.flip = (r.v[2] >> 31) != 0;
  return t;
}

// The crop and flip a view gets: crop_flip_at when augmenting, else the identity (evaluation).
MM_HD CropFlip view_crop_flip(bool augment, uint64_t seed, int64_t epoch, int64_t position, int view) {
  return augment ? crop_flip_at(seed, epoch, position, view) : CropFlip{};
}

// Element (y, x, c) of the augmented, normalised image, src U8 [H, W, 3]:
// padded(src)[y + dy, x' + dx] with x' = W - 1 - x when flipped, else x, where
// padded(src)[i, j] = src[i - 4, j - 4] inside the image and 0 (black, before normalising) outside.
MM_HD float augmented_value(const uint8_t* src, int H, int W, CropFlip t, int y, int x, int c) {
  const int sy = y + t.dy - kCropPadding, sx = (t.flip ? W - 1 - x : x) + t.dx - kCropPadding;
  const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
  const float v = inside ? src[(sy * W + sx) * 3 + c] / 255.0f : 0.0f;
  return (v - channel_mean(c)) / channel_std(c);
}

}  // namespace math
}  // namespace mm
