// The NCCL side of engine/distributed.h (built when CMake finds NCCL: MM_WITH_NCCL): one communicator per process (one GPU per rank), the
// engine's stream for the reductions that the next op needs at once (sync-BN statistics, buffers),
// and a second stream for the gradients, averaged while backward goes on.
#include <nccl.h>

#include "engine/cuda/context.cuh"

namespace mm::cuda {
namespace {

#define MM_NCCL_CHECK(call)                                                                             \
  do {                                                                                                  \
    ncclResult_t status_ = (call);                                                                      \
    if (status_ != ncclSuccess) throw ::mm::Error(fmt::format("{}: {}", #call, ncclGetErrorString(status_))); \
  } while (0)

// Two communicators, so that the collectives of one stream never wait in line behind the other's:
// `comm` on the engine's stream, `gradient_comm` on the communication stream.
struct Nccl {
  ncclComm_t comm = nullptr, gradient_comm = nullptr;
  cudaStream_t gradients = nullptr;        // the communication stream
  cudaEvent_t computed = nullptr, reduced = nullptr;
};
Nccl& nccl() {
  static Nccl n;
  return n;
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::I64: return ncclInt64;
    case DType::U8: return ncclUint8;
    case DType::BF16: return ncclBfloat16;
  }
  throw Error("NCCL: unknown dtype");
}

}  // namespace

std::string nccl_unique_id() {
  ncclUniqueId id;
  MM_NCCL_CHECK(ncclGetUniqueId(&id));
  return std::string(id.internal, sizeof(id.internal));
}

size_t nccl_unique_id_bytes() { return sizeof(ncclUniqueId::internal); }

void nccl_init(const std::string& ids, int ranks, int rank) {
  constexpr size_t bytes = sizeof(ncclUniqueId::internal);
  MM_CHECK(ids.size() == 2 * bytes, "NCCL: two unique ids of {} bytes expected, got {} bytes", bytes, ids.size());
  ncclUniqueId id, gradient_id;
  std::copy(ids.begin(), ids.begin() + bytes, id.internal);
  std::copy(ids.begin() + bytes, ids.end(), gradient_id.internal);
  Nccl& n = nccl();
  stream();  // the engine's context (stream, handles) first, on this rank's GPU
  MM_NCCL_CHECK(ncclCommInitRank(&n.comm, ranks, id, rank));
  MM_NCCL_CHECK(ncclCommInitRank(&n.gradient_comm, ranks, gradient_id, rank));
  MM_CUDA_CHECK(cudaStreamCreateWithFlags(&n.gradients, cudaStreamNonBlocking));
  MM_CUDA_CHECK(cudaEventCreateWithFlags(&n.computed, cudaEventDisableTiming));
  MM_CUDA_CHECK(cudaEventCreateWithFlags(&n.reduced, cudaEventDisableTiming));
}

bool nccl_ready() { return nccl().comm != nullptr; }

void nccl_sum(void* data, int64_t n, DType dtype) {
  MM_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(n), nccl_type(dtype), ncclSum, nccl().comm, stream()));
}

void nccl_broadcast(void* data, int64_t n, DType dtype, int root) {
  MM_NCCL_CHECK(ncclBroadcast(data, data, static_cast<size_t>(n), nccl_type(dtype), root, nccl().comm, stream()));
}

void nccl_average_async(const std::vector<std::pair<void*, int64_t>>& tensors, DType dtype) {
  Nccl& n = nccl();
  MM_CUDA_CHECK(cudaEventRecord(n.computed, stream()));
  MM_CUDA_CHECK(cudaStreamWaitEvent(n.gradients, n.computed, 0));
  MM_NCCL_CHECK(ncclGroupStart());
  for (const auto& [data, count] : tensors)
    MM_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(dtype), ncclAvg, n.gradient_comm,
                                n.gradients));
  MM_NCCL_CHECK(ncclGroupEnd());
}

void nccl_join() {
  Nccl& n = nccl();
  MM_CUDA_CHECK(cudaEventRecord(n.reduced, n.gradients));
  MM_CUDA_CHECK(cudaStreamWaitEvent(stream(), n.reduced, 0));
}

}  // namespace mm::cuda
