// The GPU twin of augment_batch (data/augment.h): one thread per output element, the same
// math::crop_flip_at and math::augmented_value as the host loader.
#include "data/augment.h"
#include "engine/cuda/context.cuh"

namespace mm::cuda {

void augment_batch(const uint8_t* images, int64_t H, int64_t W, const int64_t* indices, const int64_t* positions,
                   int64_t B, uint64_t seed, int64_t epoch, int view, bool augment, float* out) {
  const int64_t per_image = H * W * 3;
  map(B * per_image, [=] __device__(int64_t i) {
    const int64_t k = i / per_image, within = i % per_image;
    const int y = int(within / (W * 3)), x = int(within / 3 % W), c = int(within % 3);
    // the Philox block is recomputed by each of the image's threads: cheaper than a second launch
    const CropFlip t = math::view_crop_flip(augment, seed, epoch, positions[k], view);
    out[i] = math::augmented_value(images + indices[k] * per_image, int(H), int(W), t, y, x, c);
  });
}

}  // namespace mm::cuda
