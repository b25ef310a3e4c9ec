#include "engine/allocator.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/block_cache.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#ifdef MM_WITH_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace mm {

namespace {
#ifndef MM_WITH_CUDA
[[noreturn]] void no_cuda() { throw Error("this build has no CUDA backend (configure with -DMM_CUDA=ON)"); }
#endif

// Host blocks are cached (engine/block_cache.h). Without the cache, every big activation is a
// fresh mmap whose pages the kernel must zero, which cost a third of a CPU step. At exit the cache
// frees its blocks (so LeakSanitizer sees no leak); a tensor that outlives it (a static one,
// destroyed later) frees its block directly.
std::atomic<bool> g_host_cache_gone{false};
struct HostCache {
  BlockCache blocks;
  ~HostCache() {
    g_host_cache_gone = true;
    blocks.release_all([](void* p) { std::free(p); });
  }
};
BlockCache* host_cache() {
  static HostCache cache;
  return g_host_cache_gone ? nullptr : &cache.blocks;
}

size_t host_block_size(size_t bytes) { return bytes == 0 ? 64 : (bytes + 63) / 64 * 64; }
}  // namespace

void* allocate(size_t bytes, Device device) {
  if (device.is_cuda()) {
#ifdef MM_WITH_CUDA
    return cuda::device_allocate(bytes);
#else
    no_cuda();
#endif
  }
  const size_t block = host_block_size(bytes);
  BlockCache* cache = host_cache();
  if (void* p = cache ? cache->get(block) : nullptr) return p;
  void* p = std::aligned_alloc(64, block);
  if (!p) throw Error(fmt::format("out of host memory allocating {} bytes", bytes));
  return p;
}

void deallocate(void* ptr, size_t bytes, Device device) {
  if (device.is_cuda()) {
#ifdef MM_WITH_CUDA
    cuda::device_free(ptr, bytes);
#endif
    return;
  }
  if (BlockCache* cache = host_cache()) cache->put(ptr, host_block_size(bytes));
  else std::free(ptr);
}

void* allocate_pinned(size_t bytes) {
#ifdef MM_WITH_CUDA
  static const bool gpu = cuda_available();
  if (gpu) return cuda::pinned_allocate(bytes);
#endif
  (void)bytes;
  return nullptr;
}

bool pinned_batches_for(Device device) { return device.is_cuda(); }

void deallocate_pinned(void* ptr, size_t bytes) {
#ifdef MM_WITH_CUDA
  cuda::pinned_free(ptr, bytes);
#else
  (void)ptr, (void)bytes;
#endif
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef MM_WITH_CUDA
  cuda::copy(dst, dst_device.is_cuda(), src, src_device.is_cuda(), bytes);
#else
  no_cuda();
#endif
}

void fill_device(void* ptr, DType dtype, int64_t n, double value) {
#ifdef MM_WITH_CUDA
  cuda::fill(ptr, dtype, n, value);
#else
  (void)ptr, (void)dtype, (void)n, (void)value;
  no_cuda();
#endif
}

bool cuda_available() {
#ifdef MM_WITH_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

void synchronize(Device device) {
  if (!device.is_cuda()) return;
#ifdef MM_WITH_CUDA
  cuda::synchronize();
#endif
}

void allow_tf32(Device device, bool on) {
  if (!device.is_cuda()) return;
#ifdef MM_WITH_CUDA
  cuda::allow_tf32(on);
#else
  (void)on;
#endif
}

bool has_bf16_tensor_cores(Device device) {
  if (!device.is_cuda()) return false;
#ifdef MM_WITH_CUDA
  return cuda::compute_capability() >= 80;
#else
  return false;
#endif
}

SideStream::SideStream(Device device, bool enabled) : enabled_(enabled && device.is_cuda()) {
  if (enabled_) MM_CUDA_CALL(cuda::fork_side());
}
void SideStream::begin() { MM_CUDA_CALL(cuda::begin_side()); }
void SideStream::end() { MM_CUDA_CALL(cuda::end_side()); }
void SideStream::end_after_error() noexcept {
  try {
    end();  // the engine's stream current again (and, in a capture, the side branch joined)
  } catch (...) {
  }
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda") {
    MM_CHECK(cuda_available(), "--device cuda: no usable GPU (or this build has no CUDA backend)");
    return cuda_device();
  }
  if (name == "auto") return cuda_available() ? cuda_device() : cpu();
  throw Error(fmt::format("unknown device '{}' (expected auto, cpu or cuda)", name));
}

}  // namespace mm
