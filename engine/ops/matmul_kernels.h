#pragma once
// Matrix products behind one device-neutral interface: OpenBLAS on the CPU
// (engine/ops/matmul_kernels.cpp, float32 or float64), cuBLAS on the GPU (engine/ops/matmul.cu).
// Used by linear (engine/ops/linear.cpp) and the MultiMix interpolations (mixup/ops.cpp).
#include <cstdint>

#include "engine/tensor.h"

namespace mm::kernels {

// A row-major matrix inside a tensor (a handle: C's data is written through it): where it starts
// (in elements), its leading dimension, and for a batch of matrices the elements from one to the next.
struct Matrix {
  Tensor tensor;
  int64_t offset = 0;
  int ld = 0;
  int64_t stride = 0;
};

// C = alpha op(A) op(B) + beta C for each of `batch` matrix triples; op(A) [M, K], op(B) [K, N],
// C [M, N]. beta = 1 accumulates.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, Matrix A, Matrix B, double beta, Matrix C,
          int batch = 1);

}  // namespace mm::kernels

namespace mm::cuda {
// Row-major C [M, N] = alpha op(A) op(B) + beta C (cublasSgemm), `batch` of them at the given strides
// (cublasSgemmStridedBatched when batch > 1).
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, int64_t stride_a,
          const float* B, int ldb, int64_t stride_b, float beta, float* C, int ldc, int64_t stride_c, int batch);
}  // namespace mm::cuda
