#include "data/augment.h"

namespace mm {

CropFlip draw_crop_flip(Rng& rng) {
  CropFlip t;
  t.dy = static_cast<int>(rng.below(2 * kCropPadding + 1));
  t.dx = static_cast<int>(rng.below(2 * kCropPadding + 1));
  t.flip = rng.uniform() < 0.5;
  return t;
}

void augment_normalise(const uint8_t* src, int H, int W, CropFlip t, float* dst) {
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const int sy = y + t.dy - kCropPadding, sx = (t.flip ? W - 1 - x : x) + t.dx - kCropPadding;
      const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
      for (int c = 0; c < 3; ++c) {
        const float v = inside ? src[(sy * W + sx) * 3 + c] / 255.0f : 0.0f;
        dst[(y * W + x) * 3 + c] = (v - kMean[c]) / kStd[c];
      }
    }
}

}  // namespace mm
