#pragma once
// The per-element math of average pooling, for the CPU loops and the CUDA kernels.
#include "engine/hd.h"

namespace mm::math {

// Average pooling: the mean of a window of `count` values, and each value's share of the window's
// gradient, dx = dy / count.
template <class T> MM_HD T window_mean(T total, int count) { return total / T(count); }
template <class T> MM_HD T window_share(T dy, int count) { return dy / T(count); }

}  // namespace mm::math
