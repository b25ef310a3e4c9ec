// Matrix products: the dispatch to the device and the CPU's OpenBLAS calls (GPU: engine/ops/matmul.cu).
#include "engine/ops/matmul_kernels.h"

#include "engine/blas.h"
#include "engine/dispatch.h"

namespace mm::kernels {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, Matrix A, Matrix B, double beta, Matrix C,
          int batch) {
  if (C.tensor.device().is_cuda())
    return MM_CUDA_CALL(cuda::gemm(trans_a, trans_b, M, N, K, float(alpha), A.tensor.data<float>() + A.offset, A.ld,
                                   A.stride, B.tensor.data<float>() + B.offset, B.ld, B.stride, float(beta),
                                   C.tensor.data<float>() + C.offset, C.ld, C.stride, batch));
  dispatch_floating(C.tensor.dtype(), "gemm", [&](auto t) {
    using T = decltype(t);
    T* c = C.tensor.data<T>() + C.offset;
    const T *a = A.tensor.data<T>() + A.offset, *b = B.tensor.data<T>() + B.offset;
    for (int k = 0; k < batch; ++k)
      blas::gemm(trans_a, trans_b, M, N, K, T(alpha), a + k * A.stride, A.ld, b + k * B.stride, B.ld, T(beta),
                 c + k * C.stride, C.ld);
  });
}

}  // namespace mm::kernels
