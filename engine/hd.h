#pragma once
// MM_HD marks the small per-element functions that the CPU loops and the CUDA kernels share:
// __host__ __device__ under nvcc, nothing for the host compiler. One copy of each formula.
#if defined(__CUDACC__)
#define MM_HD __host__ __device__ __forceinline__
#else
#define MM_HD inline
#endif
