#pragma once
// Shared by the .cu files: the stream, the cuBLAS and cuDNN handles, error checks, launch sizes.
#include <algorithm>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/bf16.h"
#include "engine/cuda/runtime.h"
#include "engine/divmod.h"
#include "engine/error.h"

namespace mm::cuda {

#define MM_CUDA_CHECK(call)                                                                          \
  do {                                                                                               \
    cudaError_t status_ = (call);                                                                    \
    if (status_ != cudaSuccess) throw ::mm::Error(fmt::format("{}: {}", #call, cudaGetErrorString(status_))); \
  } while (0)
#define MM_CUBLAS_CHECK(call)                                                                        \
  do {                                                                                               \
    cublasStatus_t status_ = (call);                                                                 \
    if (status_ != CUBLAS_STATUS_SUCCESS) throw ::mm::Error(fmt::format("{}: cuBLAS status {}", #call, int(status_))); \
  } while (0)
#define MM_CUDNN_CHECK(call)                                                                         \
  do {                                                                                               \
    cudnnStatus_t status_ = (call);                                                                  \
    if (status_ != CUDNN_STATUS_SUCCESS) throw ::mm::Error(fmt::format("{}: {}", #call, cudnnGetErrorString(status_))); \
  } while (0)

cudaStream_t stream();
cublasHandle_t cublas();
cudnnHandle_t cudnn();

// Blocks of 256 threads covering n elements.
inline unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + 255) / 256); }
#define MM_LAUNCH_CHECK() MM_CUDA_CHECK(cudaGetLastError())

template <class F>
__global__ void map_kernel(int64_t n, F f) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) f(i);
}

// Runs the device lambda f(i) for i in [0, n) on the engine's stream: the shape of most kernels
// here, one thread per element calling the shared MM_HD math.
template <class F>
void map(int64_t n, F f) {
  if (n == 0) return;
  map_kernel<<<blocks_for(n), 256, 0, stream()>>>(n, f);
  MM_LAUNCH_CHECK();
}

// Runs f(i, c) for i in [0, n), the elements of an [n / C, C] matrix, with c = i % C: the channel
// of an element in the engine's [N, H, W, C] layout, or the column of a broadcast operand. Where
// n < 2^31, c comes from a multiplication (mm::Divisor, engine/divmod.h) instead of a 64-bit
// division, which would cost more instructions than the kernel's memory traffic allows.
template <class F>
void map_columns(int64_t n, int64_t C, F f) {
  if (n == 0) return;
  if (n < (int64_t(1) << 31)) {
    const Divisor columns(C);
    map(n, [=] __device__(int64_t i) { f(i, int64_t(columns.remainder(uint32_t(i)))); });
  } else {
    map(n, [=] __device__(int64_t i) { f(i, i % C); });
  }
}

// A device scratch buffer of `count` T that returns to the caching allocator when it goes out of scope.
template <class T>
struct Scratch {
  T* p;
  size_t bytes;
  explicit Scratch(size_t count) : p(static_cast<T*>(device_allocate(count * sizeof(T)))), bytes(count * sizeof(T)) {}
  ~Scratch() { device_free(p, bytes); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Deterministic per-column sums over the rows of a [rows, C] layout (NHWC activations: C
// contiguous), accumulated in double. column_reduce2's f(r, c) returns two terms at once (a double2:
// batch norm's statistics, its backward's two sums) and finish(c, sum0, sum1), a device lambda,
// consumes each column's totals; column_reduce assigns or adds one sum per column.
//
// The launch shape, and why: a block is lanes x groups = 256 threads. A warp's lanes take adjacent
// columns of one row (coalesced loads), the groups take interleaved rows, and `slices` blocks share
// the rows, about 32 rows per thread, so that enough loads are in flight to keep the memory busy.
// (The shape before, one thread per column over 1/128 of the rows, gave a stage-1 batch norm at full
// width 2 busy warps per SM: by Little's law too few loads in flight for the memory's bandwidth.)
// Each block adds its groups' sums in a fixed
// tree and writes one partial per column; a second kernel adds the slices the same way. The shape
// depends on (rows, C) alone, so the same tensor gives the same bits, run after run.
struct ReduceShape {
  unsigned lanes;   // blockDim.x: 32 columns, or the power of two >= C when C < 32
  unsigned groups;  // blockDim.y = 256 / lanes
  unsigned slices;  // gridDim.y of the first kernel: blocks along the rows
  unsigned tiles;   // gridDim.x: blocks along the columns
};
inline ReduceShape reduce_shape(int64_t rows, int64_t C) {
  unsigned lanes = 1;
  while (lanes < 32 && lanes < C) lanes *= 2;
  const unsigned groups = 256 / lanes;
  const int64_t rows_per_slice = int64_t(groups) * 32;
  const int64_t slices = std::min<int64_t>(std::max<int64_t>((rows + rows_per_slice - 1) / rows_per_slice, 1), 512);
  return {lanes, groups, unsigned(slices), unsigned((C + lanes - 1) / lanes)};
}

// The sum over the block's groups of each lane's v, by halving (a fixed order); valid in group 0.
// Every thread of the block must call it.
__device__ inline double2 sum_over_groups(double2 v) {
  __shared__ double2 shared[256];
  const unsigned lane = threadIdx.x, lanes = blockDim.x;
  shared[threadIdx.y * lanes + lane] = v;
  __syncthreads();
  for (unsigned half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) {
      const double2 other = shared[(threadIdx.y + half) * lanes + lane];
      shared[threadIdx.y * lanes + lane].x += other.x;
      shared[threadIdx.y * lanes + lane].y += other.y;
    }
    __syncthreads();
  }
  return shared[lane];
}

// partial[slice, c] = the sum of f(r, c) over the slice's rows.
template <class F>
__global__ void column_partials(int64_t rows, int64_t C, F f, double2* partial) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t begin = rows * blockIdx.y / gridDim.y, end = rows * (blockIdx.y + 1) / gridDim.y;
  double2 total = make_double2(0, 0);
  if (c < C) {
#pragma unroll 4
    for (int64_t r = begin + threadIdx.y; r < end; r += blockDim.y) {
      const double2 term = f(r, c);
      total.x += term.x;
      total.y += term.y;
    }
  }
  const double2 sum = sum_over_groups(total);
  if (threadIdx.y == 0 && c < C) partial[blockIdx.y * C + c] = sum;
}

// finish(c, the sums of partial[:, c]).
template <class Finish>
__global__ void column_totals(int64_t slices, int64_t C, const double2* partial, Finish finish) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  double2 total = make_double2(0, 0);
  if (c < C)
    for (int64_t s = threadIdx.y; s < slices; s += blockDim.y) {
      total.x += partial[s * C + c].x;
      total.y += partial[s * C + c].y;
    }
  const double2 sum = sum_over_groups(total);
  if (threadIdx.y == 0 && c < C) finish(c, sum.x, sum.y);
}

template <class F, class Finish>
void column_reduce2(int64_t rows, int64_t C, F f, Finish finish) {
  if (C == 0) return;
  const ReduceShape shape = reduce_shape(rows, C);
  const size_t bytes = size_t(shape.slices) * C * sizeof(double2);
  double2* partial = static_cast<double2*>(device_allocate(bytes));
  const dim3 block(shape.lanes, shape.groups);
  column_partials<<<dim3(shape.tiles, shape.slices), block, 0, stream()>>>(rows, C, f, partial);
  MM_LAUNCH_CHECK();
  column_totals<<<shape.tiles, block, 0, stream()>>>(shape.slices, C, partial, finish);
  MM_LAUNCH_CHECK();
  device_free(partial, bytes);  // reused only by work queued after these kernels on the same stream
}

// out (float or bf16) is assigned scale x the sum of f(r, c) over the rows, or has it added (accumulate).
template <class F, class Out>
void column_reduce(int64_t rows, int64_t C, F f, Out* out, float scale, bool accumulate) {
  column_reduce2(
      rows, C, [=] __device__(int64_t r, int64_t c) { return make_double2(f(r, c), 0.0); },
      [=] __device__(int64_t c, double total, double) {
        out[c] = Out(float(accumulate ? double(float(out[c])) + scale * total : scale * total));
      });
}

}  // namespace mm::cuda
