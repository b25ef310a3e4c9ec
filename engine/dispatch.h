#pragma once
// The helpers of the kernels' dispatch layer (engine/ops/*_kernels.cpp, mixup/*_kernels.cpp): the
// CUDA (or oneDNN) call of a build with or without the backend, the device check, the dtype switch, and a
// deterministic parallel sum.
#include <omp.h>

#include <algorithm>
#include <array>
#include <vector>

#include "engine/tensor.h"

namespace mm {

// MM_CUDA_CALL(statement): runs the statement in a build with the CUDA backend (the tensors are
// on the GPU), and throws a clear error in a build without one.
#ifdef MM_WITH_CUDA
#define MM_CUDA_CALL(...) __VA_ARGS__
#else
#define MM_CUDA_CALL(...) throw ::mm::Error("this build has no CUDA backend (configure with -DMM_CUDA=ON)")
#endif
// MM_ONEDNN_CALL(statement): the same for the CPU's optional oneDNN convolutions.
#ifdef MM_WITH_ONEDNN
#define MM_ONEDNN_CALL(...) __VA_ARGS__
#else
#define MM_ONEDNN_CALL(...) throw ::mm::Error("this build has no oneDNN (configure with -DMM_ONEDNN=ON)")
#endif

// Throws unless every defined tensor lives on the device of the first; returns that device.
// A CUDA device also refuses float64 (its kernels take float32, and some bfloat16: dispatch_storage).
inline Device common_device(std::initializer_list<const Tensor*> tensors, const char* op) {
  const Device d = (*tensors.begin())->device();
  for (const Tensor* t : tensors)
    if (t && t->defined()) {
      MM_CHECK(t->device() == d, "{}: tensors on {} and {} mixed", op, d.str(), t->device().str());
      MM_CHECK(!d.is_cuda() || t->dtype() != DType::F64, "{}: CUDA kernels take float32, got F64", op);
    }
  return d;
}

// Calls f(T{}) with T = float or double according to the dtype.
template <class F>
void dispatch_floating(DType dtype, const char* op, F&& f) {
  if (dtype == DType::F32) {
    f(float{});
  } else if (dtype == DType::F64) {
    f(double{});
  } else {
    throw Error(fmt::format("{}: expected a floating tensor, got {}", op, dtype_name(dtype)));
  }
}

// The storage types of the CUDA kernels: calls f(S{}) with S = float or bf16 (engine/bf16.h),
// whose kernels load S, compute in float and store S.
template <class F>
void dispatch_storage(DType dtype, const char* op, F&& f) {
  if (dtype == DType::F32) {
    f(float{});
  } else if (dtype == DType::BF16) {
    f(bf16{});
  } else {
    throw Error(fmt::format("{}: CUDA kernels take float32 or bfloat16, got {}", op, dtype_name(dtype)));
  }
}

// The CPU twin of a bfloat16 kernel is its float32 kernel: when any of `inputs` or `outputs` is a
// bfloat16 tensor on the CPU, runs body(in, out) on float32 copies of them all (in and out hold
// them in the order given; undefined tensors stay undefined; outputs are widened too, so that a
// kernel that accumulates adds to their values), rounds the outputs back once, and returns true.
// Otherwise it runs nothing and returns false: the kernel goes on with its own loop. The GPU
// kernels load bf16, compute in float and round once when they store: the same arithmetic, but
// for the order of sums.
template <class F>
bool bf16_as_float32(std::initializer_list<const Tensor*> inputs, std::initializer_list<Tensor*> outputs, F&& body) {
  auto is_bf16 = [](const Tensor* t) { return t && t->defined() && t->dtype() == DType::BF16 && t->device().is_cpu(); };
  if (std::none_of(inputs.begin(), inputs.end(), is_bf16) && std::none_of(outputs.begin(), outputs.end(), is_bf16))
    return false;
  auto widen = [&](const Tensor* t) { return is_bf16(t) ? t->to(DType::F32) : (t ? *t : Tensor()); };
  std::vector<Tensor> in, out;
  for (const Tensor* t : inputs) in.push_back(widen(t));
  for (Tensor* t : outputs) out.push_back(widen(t));
  body(in, out);
  size_t k = 0;
  for (Tensor* t : outputs) {
    if (is_bf16(t)) t->copy_from(out[k].to(DType::BF16));
    ++k;
  }
  return true;
}

// Deterministic parallel reduction: each thread sums its static share of [0, n) into its own slot
// of `width` doubles, given as the half-open range [begin, end) to body(begin, end, slot); the slots
// are then added in thread order. (OpenMP's reduction clause and critical sections combine in
// arbitrary order, which would make training runs differ in the last bits and break exact resume.)
// Returns the `width` totals.
template <class F>
std::vector<double> parallel_range_sums(int64_t n, int64_t width, F&& body) {
  const int threads = omp_get_max_threads();
  std::vector<std::vector<double>> partial(threads, std::vector<double>(width, 0.0));
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    body(n * t / count, n * (t + 1) / count, partial[t].data());
  }
  std::vector<double> total(width, 0.0);
  for (const auto& p : partial)
    for (int64_t k = 0; k < width; ++k) total[k] += p[k];
  return total;
}
// The same with body(i, slot) called for each i of a thread's share in order.
template <class F>
std::vector<double> parallel_sums(int64_t n, int64_t width, F&& body) {
  return parallel_range_sums(n, width, [&](int64_t begin, int64_t end, double* slot) {
    for (int64_t i = begin; i < end; ++i) body(i, slot);
  });
}

namespace detail {
// Sums values(r, c) [K] over the rows [begin, end) of the W columns c0..c0 + W into slot[k C + c],
// the running sums held in registers: one store per column at the end instead of K per element.
// A tile narrower than 16 columns computes the values of 16 / W rows first, then adds them row by
// row: the same additions in the same order, but 16 values at a time, which GCC vectorises (an
// 8-column tile of one row at a time it left scalar, 4x slower: C = 8 is width 8's first stage).
template <int W, int K, class F>
void sum_column_tile(int64_t begin, int64_t end, int64_t c0, int64_t C, F& values, double* slot) {
  double acc[K][W] = {};
  constexpr int R = W < 16 ? 16 / W : 1;  // rows whose values are computed together
  int64_t r = begin;
  if constexpr (R > 1)
    for (; r + R <= end; r += R) {
      std::array<double, K> v[R][W];
      for (int i = 0; i < R; ++i)
        for (int c = 0; c < W; ++c) v[i][c] = values(r + i, c0 + c);
      for (int i = 0; i < R; ++i)
        for (int c = 0; c < W; ++c)
          for (int k = 0; k < K; ++k) acc[k][c] += v[i][c][k];
    }
  for (; r < end; ++r)  // (with R = 1 the loop GCC vectorises as it stands; in the R form it did not)
    for (int c = 0; c < W; ++c) {
      const std::array<double, K> v = values(r, c0 + c);
      for (int k = 0; k < K; ++k) acc[k][c] += v[k];
    }
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < W; ++c) slot[k * C + c0 + c] += acc[k][c];
}
}  // namespace detail

// The column sums of rows [begin, end) of a [rows, C] matrix of K-tuples, added into slot[k C + c]
// on the calling thread, one tile of columns at a time (16, then 8, then single columns).
template <int K, class F>
void add_column_sums(int64_t begin, int64_t end, int64_t C, F&& values, double* slot) {
  int64_t c0 = 0;
  for (; c0 + 16 <= C; c0 += 16) detail::sum_column_tile<16, K>(begin, end, c0, C, values, slot);
  for (; c0 + 8 <= C; c0 += 8) detail::sum_column_tile<8, K>(begin, end, c0, C, values, slot);
  for (; c0 < C; ++c0) detail::sum_column_tile<1, K>(begin, end, c0, C, values, slot);
}

// Column sums of a [rows, C] matrix of K-tuples: totals[k C + c] = sum over r of values(r, c)[k],
// values returning std::array<double, K> (batch norm's statistics: K = 2, the shifted sum and sum of
// squares). Deterministic, and the same additions in the same order as parallel_sums with a loop
// over c per row; several times faster (a row-by-row loop stores every column's sums once per row,
// and L1 stores limit it) because each thread takes its rows one tile of columns at a time (16,
// then 8, then single columns), the tile's sums in registers.
template <int K, class F>
std::vector<double> parallel_column_sums(int64_t rows, int64_t C, F&& values) {
  return parallel_range_sums(rows, K * C, [&](int64_t begin, int64_t end, double* slot) {
    add_column_sums<K>(begin, end, C, values, slot);
  });
}


// N per-channel arrays of a [rows, C] pass, repeated so that the pass runs over spans of whole rows
// (at least `span_values` values) with an inner loop that reads channel values at its own index j,
// not j % C: a loop over one short row (C = 8 in width 8's first stage) is too short for GCC to
// vectorise, and ran at half the speed of C = 32. f(first element, count, repeated values) is
// called over [0, total) span by span: for_each_span in parallel, for_each_span_here on the calling
// thread. Each element gets the same arithmetic as in a row-by-row loop. (Spans of 64 and 512
// values measured alike on batch norm's passes, 2048 about 1.6x slower.)
template <class T, int N>
class ChannelSpans {
 public:
  ChannelSpans(int64_t C, std::array<const T*, N> per_channel, int64_t span_values = 512)
      : span_(C * std::max<int64_t>(1, (span_values + C - 1) / C)) {
    for (int k = 0; k < N; ++k) {
      repeated_[k].resize(span_);
      for (int64_t j = 0; j < span_; ++j) repeated_[k][j] = per_channel[k][j % C];
    }
  }
  template <class F>
  void for_each_span(int64_t total, F&& f) const {
    const std::array<const T*, N> values = repeated();
    const int64_t spans = (total + span_ - 1) / span_;
#pragma omp parallel for schedule(static)
    for (int64_t s = 0; s < spans; ++s) f(s * span_, std::min(span_, total - s * span_), values);
  }
  template <class F>
  void for_each_span_here(int64_t total, F&& f) const {
    const std::array<const T*, N> values = repeated();
    for (int64_t first = 0; first < total; first += span_) f(first, std::min(span_, total - first), values);
  }

 private:
  std::array<const T*, N> repeated() const {
    std::array<const T*, N> values;
    for (int k = 0; k < N; ++k) values[k] = repeated_[k].data();
    return values;
  }
  int64_t span_;
  std::vector<T> repeated_[N];
};

}  // namespace mm
