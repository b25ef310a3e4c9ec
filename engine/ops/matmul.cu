// cuBLAS behind the matrix-product kernels (engine/ops/matmul_kernels.h).
#include "engine/cuda/context.cuh"
#include "engine/ops/matmul_kernels.h"

namespace mm::cuda {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, int64_t stride_a,
          const float* B, int ldb, int64_t stride_b, float beta, float* C, int ldc, int64_t stride_c, int batch) {
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (batch == 1)
    MM_CUBLAS_CHECK(cublasSgemm(cublas(), op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
  else
    MM_CUBLAS_CHECK(cublasSgemmStridedBatched(cublas(), op_b, op_a, N, M, K, &alpha, B, ldb, stride_b, A, lda, stride_a,
                                              &beta, C, ldc, stride_c, batch));
}

}  // namespace mm::cuda
