#pragma once
// Shared by the .cu files: the stream, the cuBLAS and cuDNN handles, error checks, launch sizes.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

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

}  // namespace mm::cuda
