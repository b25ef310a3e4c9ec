#include <atomic>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/block_cache.h"
#include "engine/cuda/context.cuh"
#include "engine/cuda/runtime.h"

namespace mm::cuda {

namespace {

// A stream with its own cuBLAS and cuDNN handles, so that the library calls made while it is
// current queue on it.
struct StreamHandles {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  explicit StreamHandles(bool tf32) {
    MM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    MM_CUBLAS_CHECK(cublasCreate(&cublas));
    MM_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    MM_CUBLAS_CHECK(cublasSetMathMode(cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    MM_CUDNN_CHECK(cudnnCreate(&cudnn));
    MM_CUDNN_CHECK(cudnnSetStream(cudnn, stream));
  }
};

struct Context {
  StreamHandles engine{false};  // the engine's stream
  bool tf32 = false;
};

Context& context() {
  static Context c;  // made on first use, after the first allocation proved a GPU is there
  return c;
}

std::atomic<bool> side_made{false};

// The side stream (runtime.h) and the events of its fork and join.
struct Side {
  StreamHandles handles{context().tf32};
  cudaEvent_t fork = nullptr, join = nullptr;
  Side() {
    MM_CUDA_CHECK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
    MM_CUDA_CHECK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));
    side_made = true;
  }
};
Side& side() {
  static Side s;
  return s;
}
thread_local bool on_side = false;  // this thread queues on the side stream now
const StreamHandles& current() { return on_side ? side().handles : context().engine; }

// Freed device blocks by size: the engine's stream's and the side stream's (runtime.h).
BlockCache& cache() {
  static BlockCache c;
  return c;
}
BlockCache& side_cache() {
  static BlockCache c;
  return c;
}
BlockCache& current_cache() { return on_side ? side_cache() : cache(); }

// The graph pools' blocks (GraphPool below): which pool owns a block, and the pool that captures
// take from now (nullptr outside a capture).
std::mutex pool_mutex;
std::unordered_map<void*, GraphPool*> pool_blocks;
GraphPool* capturing_pool = nullptr;
std::atomic<int> live_pools{0};  // while 0 (runs without --cuda-graph), frees skip the lookup

// Freed page-locked blocks by size, each with an event recorded on the stream when it was freed:
// until the event has passed, a copy queued before the free may still be reading the block.
class PinnedCache {
 public:
  void* get(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Block>& blocks = free_[bytes];
    for (size_t i = 0; i < blocks.size(); ++i) {
      const cudaError_t status = cudaEventQuery(blocks[i].freed);
      if (status == cudaErrorNotReady) {
        cudaGetLastError();  // "not ready" is an answer, not an error: leave no error behind
        continue;
      }
      MM_CUDA_CHECK(status);
      void* p = blocks[i].ptr;
      cudaEventDestroy(blocks[i].freed);
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(i));
      return p;
    }
    return nullptr;
  }
  // Called from destructors: never throws. A block whose event cannot be recorded is released.
  void put(void* p, size_t bytes, cudaStream_t stream) {
    cudaEvent_t freed = nullptr;
    if (cudaEventCreateWithFlags(&freed, cudaEventDisableTiming) != cudaSuccess ||
        cudaEventRecord(freed, stream) != cudaSuccess) {
      cudaGetLastError();
      if (freed) cudaEventDestroy(freed);
      cudaFreeHost(p);  // blocks until the copies from it are done
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    free_[bytes].push_back({p, freed});
  }

 private:
  struct Block {
    void* ptr;
    cudaEvent_t freed;
  };
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<Block>> free_;
};

PinnedCache& pinned_cache() {
  static PinnedCache* c = new PinnedCache;  // never destroyed: tensors may outlive static destructors
  return *c;
}

// Rounds to 512 bytes so that similar sizes share blocks.
size_t block_size(size_t bytes) { return bytes == 0 ? 512 : (bytes + 511) / 512 * 512; }

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T value) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) p[i] = value;
}

}  // namespace

cudaStream_t stream() { return current().stream; }
cublasHandle_t cublas() { return current().cublas; }
cudnnHandle_t cudnn() { return current().cudnn; }

void fork_side() { MM_CUDA_CHECK(cudaEventRecord(side().fork, context().engine.stream)); }

void begin_side() {
  MM_CHECK(!on_side, "the side stream is current already");
  MM_CUDA_CHECK(cudaStreamWaitEvent(side().handles.stream, side().fork, 0));
  on_side = true;
}

void end_side() {
  on_side = false;
  MM_CUDA_CHECK(cudaEventRecord(side().join, side().handles.stream));
  MM_CUDA_CHECK(cudaStreamWaitEvent(context().engine.stream, side().join, 0));
}

bool side_current() { return on_side; }

void select_device(int index) { MM_CUDA_CHECK(cudaSetDevice(index)); }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

int compute_capability() {
  int device = 0, major = 0, minor = 0;
  MM_CUDA_CHECK(cudaGetDevice(&device));
  MM_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  MM_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return 10 * major + minor;
}

struct GraphPool {
  BlockCache free, side_free;  // freed while the engine's or the side stream was current
  BlockCache& current() { return on_side ? side_free : free; }
};

void* device_allocate(size_t bytes) {
  const size_t block = block_size(bytes);
  if (live_pools.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (GraphPool* pool = capturing_pool) {
      if (void* p = pool->current().get(block)) return p;
      void* p = nullptr;
      MM_CUDA_CHECK(cudaMalloc(&p, block));  // allowed in a relaxed capture, and not part of the graph
      pool_blocks[p] = pool;
      return p;
    }
  }
  if (void* p = current_cache().get(block)) return p;
  void* p = nullptr;
  if (cudaMalloc(&p, block) != cudaSuccess) {
    cudaGetLastError();
    for (BlockCache* c : {&cache(), &side_cache()}) c->release_all([](void* p) { cudaFree(p); });  // try once more
    const cudaError_t status = cudaMalloc(&p, block);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw Error(fmt::format("out of GPU memory: asked for {:.1f} MiB with {:.1f} MiB free of {:.1f} MiB "
                              "(try a smaller --batch-size or --n)",
                              block / 1048576.0, free_bytes / 1048576.0, total_bytes / 1048576.0));
    }
    MM_CUDA_CHECK(status);
  }
  return p;
}

void device_free(void* ptr, size_t bytes) {
  if (!ptr) return;
  if (live_pools.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    const auto owner = pool_blocks.find(ptr);
    if (owner != pool_blocks.end()) return owner->second->current().put(ptr, block_size(bytes));
  }
  current_cache().put(ptr, block_size(bytes));
}

GraphPool* new_graph_pool() {
  ++live_pools;
  return new GraphPool;
}

void delete_graph_pool(GraphPool* pool) {
  if (!pool) return;
  std::lock_guard<std::mutex> lock(pool_mutex);
  for (auto it = pool_blocks.begin(); it != pool_blocks.end();) it = it->second == pool ? pool_blocks.erase(it) : std::next(it);
  // the free blocks: to the shared caches, by size (BlockCache keeps sizes; release_all gives pointers only)
  pool->free.release_all_sized([](void* p, size_t bytes) { cache().put(p, bytes); });
  pool->side_free.release_all_sized([](void* p, size_t bytes) { side_cache().put(p, bytes); });
  delete pool;
  --live_pools;
}

struct Graph {
  cudaGraphExec_t exec = nullptr;
};

Graph* capture_graph(GraphPool* pool, const std::function<void()>& body, std::string* why) {
  // relaxed: the library calls that are not stream work (a cudaMalloc for the pool) stay allowed
  MM_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed));
  std::string failure;
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    capturing_pool = pool;
  }
  try {
    body();
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an unknown exception";  // whatever body threw, the stream must leave capture mode
  }
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    capturing_pool = nullptr;
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream(), &graph);
  if (failure.empty() && ended != cudaSuccess) failure = cudaGetErrorString(ended);
  cudaGraphExec_t exec = nullptr;
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made != cudaSuccess) failure = cudaGetErrorString(made);
  }
  if (graph) cudaGraphDestroy(graph);
  if (!failure.empty()) {
    cudaGetLastError();  // a failed capture leaves no error behind for the eager steps
    if (exec) cudaGraphExecDestroy(exec);
    *why = failure;
    return nullptr;
  }
  return new Graph{exec};
}

void replay_graph(Graph* graph) { MM_CUDA_CHECK(cudaGraphLaunch(graph->exec, stream())); }

void delete_graph(Graph* graph) {
  if (!graph) return;
  cudaGraphExecDestroy(graph->exec);
  delete graph;
}

void* pinned_allocate(size_t bytes) {
  const size_t block = block_size(bytes);
  if (void* p = pinned_cache().get(block)) return p;
  void* p = nullptr;
  if (cudaHostAlloc(&p, block, cudaHostAllocDefault) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;  // page-locked memory is limited: the caller falls back to pageable memory
  }
  return p;
}

void pinned_free(void* ptr, size_t bytes) {
  if (ptr) pinned_cache().put(ptr, block_size(bytes), stream());
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  const cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                            : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  MM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream()));
  if (!dst_on_device) MM_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host reads dst next
}

void fill(void* ptr, DType dtype, int64_t n, double value) {
  if (n == 0) return;
  switch (dtype) {
    case DType::F32: fill_kernel<<<blocks_for(n), 256, 0, stream()>>>(static_cast<float*>(ptr), n, float(value)); break;
    case DType::F64: fill_kernel<<<blocks_for(n), 256, 0, stream()>>>(static_cast<double*>(ptr), n, value); break;
    case DType::I64: fill_kernel<<<blocks_for(n), 256, 0, stream()>>>(static_cast<int64_t*>(ptr), n, int64_t(value)); break;
    case DType::U8: fill_kernel<<<blocks_for(n), 256, 0, stream()>>>(static_cast<uint8_t*>(ptr), n, uint8_t(value)); break;
    case DType::BF16: fill_kernel<<<blocks_for(n), 256, 0, stream()>>>(static_cast<bf16*>(ptr), n, bf16(float(value))); break;
  }
  MM_LAUNCH_CHECK();
}

void synchronize() { MM_CUDA_CHECK(cudaStreamSynchronize(stream())); }

void allow_tf32(bool on) {
  context().tf32 = on;
  const cublasMath_t mode = on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
  MM_CUBLAS_CHECK(cublasSetMathMode(context().engine.cublas, mode));
  if (side_made) MM_CUBLAS_CHECK(cublasSetMathMode(side().handles.cublas, mode));
}
bool tf32_allowed() { return context().tf32; }

}  // namespace mm::cuda
