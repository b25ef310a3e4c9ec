#pragma once
// The CUDA runtime side of the engine, behind a plain C++ interface (no CUDA types), so that
// host code includes it without nvcc. One stream, and a second for work beside it (below); library
// handles made once.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/dtype.h"

namespace mm::cuda {

int device_count();  // 0 when no usable GPU (or no driver)
int compute_capability();  // of the GPU in use: 10 x major + minor (80: A100, 90: H100)
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

// CUDA graphs (train/step_graph.h). A graph pool holds the device blocks of captured graphs: while a
// capture runs, allocations come from it (cudaMalloc when it has no free block of the size), and its
// blocks go back to it whenever they are freed, so no one outside the graphs is ever handed memory
// that a replay writes. Deleting the pool hands its free blocks to the shared cache (the graphs that
// used it must be deleted first); its blocks still in use follow when they are freed.
struct GraphPool;
GraphPool* new_graph_pool();
void delete_graph_pool(GraphPool* pool);
// Captures what body() queues on the stream (nothing of it runs), allocating from `pool`. Returns
// nullptr with the reason in *why when body throws or queues what a graph cannot hold.
struct Graph;
Graph* capture_graph(GraphPool* pool, const std::function<void()>& body, std::string* why);
void replay_graph(Graph* graph);  // queues the whole graph on the stream
void delete_graph(Graph* graph);

// The side stream: a second stream for work that does not depend on what the engine's stream does
// meanwhile (the distillation teacher's forward beside the student's, mixup/method.cpp). fork_side()
// records the point of the engine's stream from which side work may start. Between begin_side()
// and end_side() this thread queues everything on the side stream (kernels, cuBLAS and cuDNN calls,
// copies), which first waits for the fork point; end_side() makes the engine's stream wait for
// everything queued on the side. Memory freed while the side stream is current is handed out again
// only to side work, and the engine's only to the engine's, so neither reuses a block the other may
// still be using. Inside a graph capture the side work becomes a parallel branch of the graph.
// Made on first use: a run that never forks has one stream.
void fork_side();
void begin_side();
void end_side();
bool side_current();  // whether this thread queues on the side stream now

}  // namespace mm::cuda

namespace mm::cuda {

// Data-parallel runs (engine/distributed.h): which GPU this process uses (before any other CUDA
// call), and the NCCL side of the collectives. Rank 0 makes two unique ids (nccl_unique_id twice,
// one per communicator) and sends them to the others (over MPI); then each calls nccl_init with both.
void select_device(int index);
std::string nccl_unique_id();
size_t nccl_unique_id_bytes();
void nccl_init(const std::string& two_unique_ids, int ranks, int rank);
bool nccl_ready();
// In place over the ranks, queued on the engine's stream.
void nccl_sum(void* data, int64_t n, DType dtype);
void nccl_broadcast(void* data, int64_t n, DType dtype, int root);
// The average of each tensor (pointer, element count) over the ranks, in one NCCL group on the
// communication stream, which first waits for the engine's stream; nccl_join makes the engine's
// stream wait for everything queued on the communication stream so far.
void nccl_average_async(const std::vector<std::pair<void*, int64_t>>& tensors, DType dtype);
void nccl_join();

}  // namespace mm::cuda
