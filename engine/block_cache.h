#pragma once
// Freed memory blocks kept by exact size for reuse, shared by the host allocator and the CUDA
// caching allocator: a training step allocates the same shapes every step, so after the first step
// no memory comes from (or goes back to) the system. Thread-safe (loader workers allocate too).
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mm {

class BlockCache {
 public:
  // A cached block of exactly `bytes`, or nullptr.
  void* get(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(bytes);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    return p;
  }
  void put(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[bytes].push_back(p);
  }
  // Hands every cached block to release(p) and forgets them.
  template <class Release>
  void release_all(Release release) {
    release_all_sized([&](void* p, size_t) { release(p); });
  }
  // The same with each block's size: release(p, bytes).
  template <class Release>
  void release_all_sized(Release release) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) release(p, bytes);
    free_.clear();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
};

}  // namespace mm
