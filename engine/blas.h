#pragma once
// Row-major GEMM on the CPU: C = alpha * op(A) @ op(B) + beta * C, op(A) [M, K], op(B) [K, N],
// C [M, N]. Overloaded on float and double so kernels templated on the scalar type (for
// double-precision gradient checks) call the right routine.
//
// float runs on oneDNN's sgemm when the engine is built with oneDNN (MM_WITH_ONEDNN, as the CPU's
// convolutions): it picks its kernels at run time, AVX-512 where the CPU has it, where Debian's
// OpenBLAS 0.3.21 runs its AVX2 (Haswell) kernels on this project's EPYC; about 3x faster on the
// mixing products of dense MultiMix (BENCHMARKS.md). double always runs on OpenBLAS.
#include <cblas.h>
#ifdef MM_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>

#include "engine/error.h"
#endif

namespace mm::blas {

inline void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
#ifdef MM_WITH_ONEDNN
  // K = 0: oneDNN 2.6 leaves C as it was, where BLAS scales it by beta; OpenBLAS takes those
  if (M > 0 && N > 0 && K > 0) {
    const dnnl_status_t status =
        dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    MM_CHECK(status == dnnl_success, "oneDNN sgemm failed ({}x{}x{}, status {})", M, N, K, int(status));
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
                 const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace mm::blas
