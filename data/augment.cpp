#include "data/augment.h"

#include "engine/ops.h"

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

Tensor pixels_of(const Tensor& images, int64_t begin, int64_t end) {
  MM_CHECK(images.dtype() == DType::U8 && images.ndim() == 4 && images.dim(3) == 3,
           "pixels_of: images must be U8 [N, H, W, 3], got {} {}", dtype_name(images.dtype()), shape_str(images.shape()));
  const Tensor rows = images.slice_rows(begin, end);
  Tensor x = Tensor::empty(rows.shape());
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rows.data<uint8_t>()[i] / 255.0f;
  return x;
}

Tensor normalise_pixels(const Tensor& x) {
  MM_CHECK(x.ndim() == 4 && x.dim(3) == 3, "normalise_pixels: x must be [N, H, W, 3], got {}", shape_str(x.shape()));
  Tensor inv_std = Tensor::empty({3}), shift = Tensor::empty({3});
  for (int c = 0; c < 3; ++c) {
    inv_std.data<float>()[c] = 1.0f / kStd[c];
    shift.data<float>()[c] = -kMean[c] / kStd[c];
  }
  return channel_affine(x, inv_std.to(x.device()), shift.to(x.device()));
}

}  // namespace mm
