#pragma once
// Memory for tensors. CPU: 64-byte aligned blocks (AVX-512 friendly). CUDA: a caching allocator
// (engine/cuda/runtime.cu), so a training step does not call cudaMalloc per op.
#include <cstddef>
#include <cstdint>

#include "engine/device.h"
#include "engine/dtype.h"

namespace mm {

void* allocate(size_t bytes, Device device);
void deallocate(void* ptr, size_t bytes, Device device);
// Copies bytes between any two devices (host<->device copies synchronise the stream).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Sets n elements of type dtype on the GPU to value.
void fill_device(void* ptr, DType dtype, int64_t n, double value);

}  // namespace mm
