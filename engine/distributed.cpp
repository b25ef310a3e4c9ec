#include "engine/distributed.h"

#include <cstdio>
#include <cstdlib>

#include "engine/autograd.h"
#include "engine/ops.h"
#ifdef MM_WITH_MPI
#include <mpi.h>
#endif
#ifdef MM_WITH_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace mm {
namespace {

#ifdef MM_WITH_MPI
bool mpi_started = false;

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I64: return MPI_INT64_T;
    case DType::U8: return MPI_UINT8_T;
    case DType::BF16: break;  // no MPI type: activations, never sent
  }
  throw Error("MPI: unknown dtype");
}

void check_mpi(int status, const char* what) {
  MM_CHECK(status == MPI_SUCCESS, "MPI: {} failed (error {})", what, status);
}

// mpirun (OpenMPI, MPICH, Intel MPI, Slurm's PMI) says so in the environment of the processes it
// starts; a plain run does not initialise MPI at all.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}
#endif

// The two libraries behind the collectives, each compiled in or not: MPI moves host memory between
// the ranks, NCCL moves GPU memory. Without MPI there is one rank and no MPI call is ever reached;
// without NCCL a GPU tensor cannot be reduced and says so.
#ifdef MM_WITH_MPI
void mpi_sum(void* data, int64_t n, DType dtype) {
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD), "all-reduce");
}
void mpi_broadcast(void* data, int64_t n, DType dtype, int root) {
  check_mpi(MPI_Bcast(data, static_cast<int>(n), mpi_type(dtype), root, MPI_COMM_WORLD), "broadcast");
}
#else
void mpi_sum(void*, int64_t, DType) {}
void mpi_broadcast(void*, int64_t, DType, int) {}
#endif

#ifdef MM_WITH_NCCL
// The NCCL communicators, made at the first GPU collective from rank 0's unique ids.
void ensure_nccl(const Communicator& c) {
  if (cuda::nccl_ready()) return;
  std::string ids = c.is_root() ? cuda::nccl_unique_id() + cuda::nccl_unique_id() : std::string();
  if (c.size() > 1) {
    ids.resize(2 * cuda::nccl_unique_id_bytes());
    mpi_broadcast(ids.data(), static_cast<int64_t>(ids.size()), DType::U8, 0);
  }
  cuda::nccl_init(ids, c.size(), c.rank());
}
void nccl_sum(const Communicator& c, Tensor& t) {
  ensure_nccl(c);
  cuda::nccl_sum(t.raw(), t.numel(), t.dtype());
}
void nccl_broadcast(const Communicator& c, Tensor& t, int root) {
  ensure_nccl(c);
  cuda::nccl_broadcast(t.raw(), t.numel(), t.dtype(), root);
}
#else
[[noreturn]] void no_nccl() {
  throw Error("collectives of GPU tensors need NCCL, and this build has none (README: several processes or GPUs)");
}
void nccl_sum(const Communicator&, Tensor&) { no_nccl(); }
void nccl_broadcast(const Communicator&, Tensor&, int) { no_nccl(); }
#endif

}  // namespace

// GPU tensors go through NCCL (also on one rank, for the test communicator); CPU tensors through
// MPI when there are several ranks.
void Communicator::sum(Tensor& t) const {
  if (!collectives_) return;
  if (t.device().is_cuda()) nccl_sum(*this, t);
  else if (size_ > 1) mpi_sum(t.raw(), t.numel(), t.dtype());
}

void Communicator::average(Tensor& t) const {
  if (!collectives_) return;
  sum(t);
  NoGrad no_grad;
  t.copy_from(scale(t, 1.0 / size_));
}

void Communicator::broadcast(Tensor& t, int root) const {
  if (!collectives_) return;
  if (t.device().is_cuda()) nccl_broadcast(*this, t, root);
  else if (size_ > 1) mpi_broadcast(t.raw(), t.numel(), t.dtype(), root);
}

double Communicator::sum(double v) const {
  if (size_ > 1) mpi_sum(&v, 1, DType::F64);
  return v;
}

int64_t Communicator::sum(int64_t v) const {
  if (size_ > 1) mpi_sum(&v, 1, DType::I64);
  return v;
}

bool Communicator::any(bool v) const { return sum(static_cast<int64_t>(v)) > 0; }

void Communicator::barrier() const {
#ifdef MM_WITH_MPI
  if (size_ > 1) check_mpi(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
}

void Communicator::abort(int status) const {
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef MM_WITH_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, status);
#endif
  std::exit(status);
}

void Communicator::average_async(const std::vector<Tensor>& tensors) const {
  if (!collectives_ || tensors.empty()) return;
  if (tensors.front().device().is_cpu()) {
    for (Tensor t : tensors) average(t);  // the CPU is busy with backward anyway: nothing to overlap
    return;
  }
#ifdef MM_WITH_NCCL
  ensure_nccl(*this);
  std::vector<std::pair<void*, int64_t>> data;
  for (Tensor t : tensors) {
    MM_CHECK(t.dtype() == tensors.front().dtype(), "average_async: tensors of one dtype");
    data.emplace_back(t.raw(), t.numel());
  }
  cuda::nccl_average_async(data, tensors.front().dtype());
#else
  no_nccl();
#endif
}

void Communicator::join() const {
#ifdef MM_WITH_NCCL
  if (collectives_ && cuda::nccl_ready()) cuda::nccl_join();
#endif
}

Communicator Communicator::single_process_through_collectives() {
  Communicator c;
  c.collectives_ = true;
  return c;
}

Communicator& world() {
  static Communicator c = [] {
    Communicator w;
#ifdef MM_WITH_MPI
    if (launched_by_mpi()) {
      int provided = 0;
      // the loader's threads never call MPI: only the main thread does
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      mpi_started = true;
      MPI_Comm_rank(MPI_COMM_WORLD, &w.rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &w.size_);
      MPI_Comm node;  // the ranks on this machine
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank_, MPI_INFO_NULL, &node);
      MPI_Comm_rank(node, &w.local_rank_);
      MPI_Comm_free(&node);
      w.collectives_ = w.size_ > 1;
    }
#endif
#ifdef MM_WITH_CUDA
    if (w.size_ > 1 && cuda::device_count() > 0) cuda::select_device(w.local_rank_ % cuda::device_count());
#endif
    return w;
  }();
  return c;
}

bool built_with_mpi() {
#ifdef MM_WITH_MPI
  return true;
#else
  return false;
#endif
}

void finish_distributed() {
#ifdef MM_WITH_MPI
  if (mpi_started) {
    mpi_started = false;
    MPI_Finalize();
  }
#endif
}

}  // namespace mm
