#pragma once
// Shared by the .cu files: the stream, the cuBLAS and cuDNN handles, error checks, launch sizes.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/bf16.h"
#include "engine/cuda/runtime.h"
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

// A device scratch buffer that returns to the caching allocator when it goes out of scope.
struct Scratch {
  float* p;
  size_t bytes;
  explicit Scratch(size_t count) : p(static_cast<float*>(device_allocate(count * sizeof(float)))), bytes(count * sizeof(float)) {}
  ~Scratch() { device_free(p, bytes); }
};

// Deterministic per-column sums of f(r, c) over rows (double accumulation): slice s of the rows
// goes to partial[s, c]; then each column adds its slices in order.
// The number of row slices of a column reduction.
constexpr int kSlices = 128;
template <class F>
__global__ void column_partials(int64_t rows, int64_t C, F f, double* partial) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, s = blockIdx.y;
  if (c >= C) return;
  double total = 0;
  for (int64_t r = rows * s / kSlices; r < rows * (s + 1) / kSlices; ++r) total += f(r, c);
  partial[s * C + c] = total;
}

// out (float or bf16) is assigned scale x the sum, or has it added (accumulate).
template <class F, class Out>
void column_reduce(int64_t rows, int64_t C, F f, Out* out, float scale, bool accumulate) {
  double* partial = static_cast<double*>(device_allocate(kSlices * C * sizeof(double)));
  column_partials<<<dim3(unsigned((C + 127) / 128), kSlices), 128, 0, stream()>>>(rows, C, f, partial);
  MM_LAUNCH_CHECK();
  map(C, [=] __device__(int64_t c) {
    double total = 0;
    for (int s = 0; s < kSlices; ++s) total += partial[s * C + c];
    out[c] = Out(float(accumulate ? double(float(out[c])) + scale * total : scale * total));
  });
  device_free(partial, kSlices * C * sizeof(double));
}

// Two column sums in one pass over the rows: f(r, c) returns a double2 (two terms), and
// finish(c, sum0, sum1) (a device lambda) consumes each column's totals, summed in the same
// deterministic order as column_reduce's.
template <class F>
__global__ void column_partials2(int64_t rows, int64_t C, F f, double2* partial) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, s = blockIdx.y;
  if (c >= C) return;
  double2 total = make_double2(0, 0);
  for (int64_t r = rows * s / kSlices; r < rows * (s + 1) / kSlices; ++r) {
    const double2 term = f(r, c);
    total.x += term.x;
    total.y += term.y;
  }
  partial[s * C + c] = total;
}

template <class F, class Finish>
void column_reduce2(int64_t rows, int64_t C, F f, Finish finish) {
  double2* partial = static_cast<double2*>(device_allocate(kSlices * C * sizeof(double2)));
  column_partials2<<<dim3(unsigned((C + 127) / 128), kSlices), 128, 0, stream()>>>(rows, C, f, partial);
  MM_LAUNCH_CHECK();
  map(C, [=] __device__(int64_t c) {
    double sum0 = 0, sum1 = 0;
    for (int s = 0; s < kSlices; ++s) sum0 += partial[s * C + c].x, sum1 += partial[s * C + c].y;
    finish(c, sum0, sum1);
  });
  device_free(partial, kSlices * C * sizeof(double2));
}


}  // namespace mm::cuda
