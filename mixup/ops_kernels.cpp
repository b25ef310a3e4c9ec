// The mixing kernels: the dispatch to the device and the CPU loops (GPU: mixup/ops.cu).
#include "mixup/ops_kernels.h"

#include <algorithm>
#include <vector>

#include "engine/dispatch.h"
#include "mixup/mix_math.h"

namespace mm::kernels {

void mix_pairs(const Tensor& x, const Tensor& perm, const Tensor& lam, Tensor& y) {
  const int64_t N = x.dim(0), row = x.numel() / std::max<int64_t>(N, 1);
  if (x.device().is_cuda())
    return MM_CUDA_CALL(cuda::mix_pairs(x.data<float>(), perm.data<int64_t>(), lam.data<float>(), N, row, y.data<float>()));
  const int64_t* pp = perm.data<int64_t>();
  const double lv = lam.item();
  dispatch_floating(x.dtype(), "mix_pairs", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t e = 0; e < row; ++e) py[i * row + e] = math::lerp(px[i * row + e], px[pp[i] * row + e], T(lv));
  });
}

void mix_pairs_backward(const Tensor& dy, const Tensor& inverse, const Tensor& lam, Tensor& dx) {
  const int64_t N = dx.dim(0), row = dx.numel() / std::max<int64_t>(N, 1);
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(cuda::mix_pairs_backward(dy.data<float>(), inverse.data<int64_t>(), lam.data<float>(), N, row,
                                                 dx.data<float>()));
  const int64_t* inv = inverse.data<int64_t>();
  const double lv = lam.item();
  // looping over destinations keeps each thread's writes to its own rows
  dispatch_floating(dx.dtype(), "mix_pairs backward", [&](auto t) {
    using T = decltype(t);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t e = 0; e < row; ++e) pdx[i * row + e] += math::lerp(pdy[i * row + e], pdy[inv[i] * row + e], T(lv));
  });
}

void inverse_permutation(const Tensor& perm, Tensor& inverse) {
  const int64_t N = perm.numel();
  if (perm.device().is_cuda()) return MM_CUDA_CALL(cuda::inverse_permutation(perm.data<int64_t>(), N, inverse.data<int64_t>()));
  for (int64_t k = 0; k < N; ++k) inverse.data<int64_t>()[perm.data<int64_t>()[k]] = k;
}

namespace {
// Calls f(destination offset, source offset) for every pixel of the batch: the pixel (i, y, x)
// comes from example perm(i) inside the box and from i outside.
template <class F>
void for_each_pasted_pixel(const Tensor& perm, const Tensor& box, int64_t N, int64_t H, int64_t W, int64_t C, F f) {
  const std::vector<long long> bx(box.data<int64_t>(), box.data<int64_t>() + 4);
  const int64_t* pp = perm.data<int64_t>();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t yy = 0; yy < H; ++yy)
      for (int64_t xx = 0; xx < W; ++xx) {
        const int64_t source = math::in_box(yy, xx, bx.data()) ? pp[i] : i;
        f(((i * H + yy) * W + xx) * C, ((source * H + yy) * W + xx) * C);
      }
}
}  // namespace

void cutmix_paste(const Tensor& x, const Tensor& perm, const Tensor& box, Tensor& y) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  if (x.device().is_cuda())
    return MM_CUDA_CALL(cuda::cutmix_paste(x.data<float>(), perm.data<int64_t>(), box.data<int64_t>(), N, H, W, C, y.data<float>()));
  dispatch_floating(x.dtype(), "cutmix_paste", [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_pasted_pixel(perm, box, N, H, W, C, [&](int64_t to, int64_t from) { std::copy_n(px + from, C, py + to); });
  });
}

void cutmix_paste_backward(const Tensor& dy, const Tensor& perm, const Tensor& box, Tensor& dx) {
  const int64_t N = dx.dim(0), H = dx.dim(1), W = dx.dim(2), C = dx.dim(3);
  if (dx.device().is_cuda())
    return MM_CUDA_CALL(cuda::cutmix_paste_backward(dy.data<float>(), perm.data<int64_t>(), box.data<int64_t>(), N, H, W,
                                                    C, dx.data<float>()));
  dispatch_floating(dx.dtype(), "cutmix_paste backward", [&](auto t) {
    using T = decltype(t);
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
    // each input value went to exactly one output value: the scatter has no collisions
    for_each_pasted_pixel(perm, box, N, H, W, C, [&](int64_t to, int64_t from) {
      for (int64_t c = 0; c < C; ++c) pdx[from + c] += pdy[to + c];
    });
  });
}

void mix_labels(const Tensor& labels, const Tensor& weights, Tensor& out) {
  const int64_t r = weights.dim(0), m = weights.dim(1), n = weights.dim(2), c = out.dim(2);
  if (weights.device().is_cuda())
    return MM_CUDA_CALL(cuda::mix_labels(labels.data<int64_t>(), weights.data<float>(), r, m, n, c, out.data<float>()));
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < m; ++i) MM_CHECK(y[i] >= 0 && y[i] < c, "mix_labels: label {} of example {} is outside [0, {})", y[i], i, c);
  // The GPU builds row (j, k) down column k of W (math::mixed_label_row, a thread per row); here a
  // column strided by n would be read one scalar at a time. The CPU takes a position's columns in
  // blocks of kBlock and walks W's rows, adding row i into its class's row of a class-major block
  // (contiguous, vectorised), then writes the block out transposed: the same additions to each
  // element, from 0, in the same order of i.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  dispatch_floating(weights.dtype(), "mix_labels", [&](auto t) {
    using T = decltype(t);
    const T* w = weights.data<T>();
    T* po = out.data<T>();
#pragma omp parallel
    {
      std::vector<T> by_class(c * kBlock);  // [c, kBlock]
#pragma omp for schedule(static)
      for (int64_t q = 0; q < r * blocks; ++q) {
        const int64_t j = q / blocks, k0 = (q % blocks) * kBlock, width = std::min(kBlock, n - k0);
        std::fill(by_class.begin(), by_class.end(), T(0));
        for (int64_t i = 0; i < m; ++i) {
          const T* row = w + (j * m + i) * n + k0;
          T* into = by_class.data() + y[i] * kBlock;
          for (int64_t k = 0; k < width; ++k) into[k] += row[k];
        }
        for (int64_t k = 0; k < width; ++k)
          for (int64_t cls = 0; cls < c; ++cls) po[(j * n + k0 + k) * c + cls] = by_class[cls * kBlock + k];
      }
    }
  });
}

void dense_row_coefficients(const Tensor& s, Tensor& coef) {
  const int64_t r = s.dim(0), n = s.dim(1);
  if (s.device().is_cuda()) return MM_CUDA_CALL(cuda::dense_row_coefficients(s.data<float>(), r, n, coef.data<float>()));
  dispatch_floating(s.dtype(), "dense_soft_cross_entropy", [&](auto t) {
    using T = decltype(t);
    for (int64_t j = 0; j < r; ++j)
      math::dense_row_coefficients(s.data<T>() + j * n, static_cast<int>(n), static_cast<int>(r), coef.data<T>() + j * n);
  });
}

}  // namespace mm::kernels
