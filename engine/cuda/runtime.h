#pragma once
// The CUDA runtime side of the engine, behind a plain C++ interface (no CUDA types), so that
// host code includes it without nvcc. One stream; library handles made once.
#include <cstddef>
#include <cstdint>

#include "engine/dtype.h"

namespace mm::cuda {

int device_count();  // 0 when no usable GPU (or no driver)
// Caching allocator: freed blocks are kept by size and reused, so a training step does not call
// cudaMalloc after the first one.
void* device_allocate(size_t bytes);
void device_free(void* ptr, size_t bytes);
// Page-locked host blocks, cached too. A freed block may still be the source of a copy queued on
// the stream, so it is handed out again only after the stream has passed the point of the free.
void* pinned_allocate(size_t bytes);  // nullptr when the system has no page-locked memory left
void pinned_free(void* ptr, size_t bytes);
// Copies on the engine's stream. Host-to-device copies from pinned memory return at once; from
// pageable memory the driver stages the source first and may wait for the stream. Either way the
// source may be reused when copy() returns. Copies to the host wait for the stream.
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void fill(void* ptr, DType dtype, int64_t n, double value);
void synchronize();
// TF32 tensor-core math in cuBLAS and cuDNN. Off by default: parity tests compare exact float32.
void allow_tf32(bool on);
bool tf32_allowed();

}  // namespace mm::cuda
