#pragma once
// Augmentation and normalisation (docs/math.md §2): random crop to the image size from the image
// zero-padded by 4 on each side, horizontal flip with p = 0.5, then per-channel normalisation
// with the CIFAR mean and std (used for every dataset).
#include "engine/rng.h"
#include "engine/tensor.h"

namespace mm {

constexpr float kMean[3] = {0.4914f, 0.4822f, 0.4465f};
constexpr float kStd[3] = {0.2023f, 0.1994f, 0.2010f};
constexpr int kCropPadding = 4;

// One example's augmentation draws: the crop's top-left corner in the padded image
// (offsets in [0, 2 * padding]) and whether to flip.
struct CropFlip {
  int dy = kCropPadding, dx = kCropPadding;  // the default is the identity crop
  bool flip = false;
};
CropFlip draw_crop_flip(Rng& rng);

// src: U8 [H, W, 3] -> dst: F32 [H, W, 3], normalised, with the crop and flip applied:
// dst[y, x] = padded(src)[y + dy, x' + dx] where x' = W - 1 - x when flipped, else x;
// padded(src)[i, j] = src[i - 4, j - 4] inside the image and 0 (black, before normalising) outside.
void augment_normalise(const uint8_t* src, int H, int W, CropFlip t, float* dst);

// Pixel space, where robustness is measured (docs/math.md §4: the normalisation is part of the model).
// images: U8 [N, H, W, 3], rows [begin, end) -> F32 [end - begin, H, W, 3] in [0, 1], on the host.
Tensor pixels_of(const Tensor& images, int64_t begin, int64_t end);
// x: F32 [N, H, W, 3] in [0, 1] on any device -> (x - mean_c) / std_c, differentiable (channel_affine).
Tensor normalise_pixels(const Tensor& x);

}  // namespace mm
