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

}  // namespace mm::cuda
