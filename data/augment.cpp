#include "data/augment.h"

#include "engine/dispatch.h"
#include "engine/ops.h"

namespace mm {

void augment_normalise(const uint8_t* src, int H, int W, CropFlip t, float* dst) {
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) dst[(y * W + x) * 3 + c] = math::augmented_value(src, H, W, t, y, x, c);
}

Tensor augment_batch(const Tensor& images, const Tensor& indices, const Tensor& positions, uint64_t seed, int64_t epoch,
                     int view, bool augment) {
  MM_CHECK(images.dtype() == DType::U8 && images.ndim() == 4 && images.dim(3) == 3,
           "augment_batch: images must be U8 [N, H, W, 3], got {} {}", dtype_name(images.dtype()), shape_str(images.shape()));
  MM_CHECK(indices.dtype() == DType::I64 && indices.ndim() == 1 && positions.dtype() == DType::I64 &&
               positions.shape() == indices.shape(),
           "augment_batch: indices and positions must be I64 [B], got {} and {}", shape_str(indices.shape()),
           shape_str(positions.shape()));
  const Device device = common_device({&images, &indices, &positions}, "augment_batch");
  const int64_t B = indices.numel(), N = images.dim(0), H = images.dim(1), W = images.dim(2);
  Tensor out = Tensor::empty({B, H, W, 3}, DType::F32, device);
  if (device.is_cuda()) {
    // indices come from the loader's order (checked there); the kernel reads them unchecked
    MM_CUDA_CALL(cuda::augment_batch(images.data<uint8_t>(), H, W, indices.data<int64_t>(), positions.data<int64_t>(), B,
                                     seed, epoch, view, augment, out.data<float>()));
    return out;
  }
  const int64_t* index = indices.data<int64_t>();
  const int64_t* position = positions.data<int64_t>();
  for (int64_t k = 0; k < B; ++k)
    MM_CHECK(0 <= index[k] && index[k] < N, "augment_batch: index {} outside the {} images", index[k], N);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < B; ++k) {
    augment_normalise(images.data<uint8_t>() + index[k] * H * W * 3, int(H), int(W),
                      math::view_crop_flip(augment, seed, epoch, position[k], view), out.data<float>() + k * H * W * 3);
  }
  return out;
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
    inv_std.data<float>()[c] = 1.0f / math::channel_std(c);
    shift.data<float>()[c] = -math::channel_mean(c) / math::channel_std(c);
  }
  return channel_affine(x, inv_std.to(x.device()), shift.to(x.device()));
}

}  // namespace mm
