#pragma once
// Augmentation and normalisation of training batches (the per-element math and the draws:
// data/augment_math.h), on the host for the loader's threads or on the GPU (data/augment.cu) for a
// training set kept there.
#include "data/augment_math.h"
#include "engine/tensor.h"

namespace mm {

// src: U8 [H, W, 3] -> dst: F32 [H, W, 3], normalised, with the crop and flip t applied
// (math::augmented_value at every element).
void augment_normalise(const uint8_t* src, int H, int W, CropFlip t, float* dst);

// A batch of views from a whole training set, on the set's device (CPU or GPU):
// images U8 [N, H, W, 3], indices I64 [B] (rows of images), positions I64 [B] (their places in the
// epoch's order, which with seed, epoch and view select the draws) -> F32 [B, H, W, 3]. Without
// `augment` every example takes the identity crop (normalisation only).
Tensor augment_batch(const Tensor& images, const Tensor& indices, const Tensor& positions, uint64_t seed, int64_t epoch,
                     int view, bool augment);

// Pixel space, where robustness is measured (docs/math.md §4: the normalisation is part of the model).
// images: U8 [N, H, W, 3], rows [begin, end) -> F32 [end - begin, H, W, 3] in [0, 1], on the host.
Tensor pixels_of(const Tensor& images, int64_t begin, int64_t end);
// x: F32 [N, H, W, 3] in [0, 1] on any device -> (x - mean_c) / std_c, differentiable (channel_affine).
Tensor normalise_pixels(const Tensor& x);

namespace cuda {  // data/augment.cu
void augment_batch(const uint8_t* images, int64_t H, int64_t W, const int64_t* indices, const int64_t* positions,
                   int64_t B, uint64_t seed, int64_t epoch, int view, bool augment, float* out);
}  // namespace cuda

}  // namespace mm
