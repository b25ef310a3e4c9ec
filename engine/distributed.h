#pragma once
// The processes of a data-parallel run and their collective operations (docs/distributed.md).
//
// A plain run is one process, and every operation here is the identity. Started by mpirun (in a
// build with MPI, MM_MPI), the run is MPI's world of K processes ("ranks"): each trains on its own
// share of every batch, and the ranks agree through these collectives. Host values and CPU tensors
// travel through MPI; GPU tensors through NCCL, on the GPU, without the host waiting.
//
// A collective must be called by every rank, in the same order, with tensors of the same shape
// and type: a rank that skips one leaves the others waiting. So a rank that fails does not return
// to the loop: it calls abort(), which ends every rank.
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mm {

class Communicator {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // The rank among those on this machine: GPU ranks use the GPU of that index.
  int local_rank() const { return local_rank_; }

  // t summed (or averaged) over the ranks, in place. On the GPU the reduction is queued on the
  // engine's stream, like any other op.
  void sum(Tensor& t) const;
  void average(Tensor& t) const;
  // Every rank's t becomes rank root's.
  void broadcast(Tensor& t, int root = 0) const;
  // Host values: the sum over the ranks; whether any rank passed true.
  double sum(double v) const;
  int64_t sum(int64_t v) const;
  bool any(bool v) const;
  void barrier() const;
  // Ends every rank of the run with this exit status (after this rank printed why).
  [[noreturn]] void abort(int status) const;

  // GPU gradients of a backward pass, reduced while backward goes on: average_async queues the
  // average of these tensors on a communication stream that first waits for the engine's stream
  // (so it sees the gradients computed so far); join makes the engine's stream wait for every
  // average queued so far. The host never waits. CPU tensors are averaged at once.
  void average_async(const std::vector<Tensor>& tensors) const;
  void join() const;

  // For tests: a communicator of this one process that still takes the multi-process paths
  // (NCCL on the GPU), so that they run where only one GPU is.
  static Communicator single_process_through_collectives();

 private:
  friend Communicator& world();
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  bool collectives_ = false;  // use MPI / NCCL (size > 1, or the test communicator)
};

// The run's ranks: MPI's world when this build has MPI and mpirun started the process, else this
// process alone. The first call initialises MPI (and, in a CUDA build with several ranks, picks
// this rank's GPU), so call it before anything else touches MPI or the GPU.
Communicator& world();
// Whether this build can run several ranks (built with MPI).
bool built_with_mpi();
// Leaves MPI at the end of a run that did not abort.
void finish_distributed();

}  // namespace mm
