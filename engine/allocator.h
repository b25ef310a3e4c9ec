#pragma once
// Memory for tensors. CPU: 64-byte aligned blocks (AVX-512 friendly). CUDA: a caching allocator
// (engine/cuda/runtime.cu), so a training step does not call cudaMalloc per op. Pinned: page-locked
// host memory for batches, whose copies to the GPU run asynchronously.
#include <cstddef>
#include <cstdint>

#include "engine/device.h"
#include "engine/dtype.h"

namespace mm {

void* allocate(size_t bytes, Device device);
void deallocate(void* ptr, size_t bytes, Device device);
// Page-locked host memory, or nullptr where there is none (no CUDA backend, no GPU, or the
// system's page-locked memory is used up); Storage then falls back to ordinary host memory.
void* allocate_pinned(size_t bytes);
void deallocate_pinned(void* ptr, size_t bytes);
// Whether batches bound for `device` should come from page-locked memory (a GPU: their copies then
// run asynchronously).
bool pinned_batches_for(Device device);
// Copies bytes between any two devices. Copies to the GPU are queued on the stream (the source may
// be reused when this returns); copies to the host wait for the stream.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Sets n elements of type dtype on the GPU to value.
void fill_device(void* ptr, DType dtype, int64_t n, double value);

}  // namespace mm
