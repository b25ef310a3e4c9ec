#pragma once
// Data-parallel training (docs/distributed.md): each rank computes the gradients of its share of
// the batch, and GradientAverager makes every rank's gradients their average over the ranks, so
// that every rank takes the same SGD step and the models stay identical.
#include <unordered_map>
#include <vector>

#include "engine/distributed.h"

namespace mm {

// Parameters are grouped in buckets of about bucket_bytes, in reverse order of registration (the
// order in which backward completes their gradients). On the GPU a bucket's average is queued on
// NCCL's stream as soon as all its gradients are complete (backward's on_leaf_gradient), while
// backward goes on; buckets are always queued in the same order on every rank, whatever order
// their gradients complete in. On the CPU all buckets are averaged after backward (the cores are
// busy with backward anyway, and MPI calls in between the sync-BN ones could pair up wrongly).
class GradientAverager {
 public:
  GradientAverager(const Communicator& ranks, const std::vector<Tensor>& parameters,
                   int64_t bucket_bytes = int64_t(8) << 20);

  // backward's on_leaf_gradient: `parameter`'s gradient is complete.
  void gradient_ready(const Tensor& parameter);
  // After backward: queues the buckets left (a parameter without a gradient gets zeros), and makes
  // the next op wait for every average. Then each gradient is the average over the ranks.
  void finish();
  // Seconds finish() has waited so far (on the CPU, the averages themselves).
  double seconds_waiting() const { return seconds_waiting_; }

 private:
  void reduce_next_bucket();

  struct Bucket {
    std::vector<Tensor> parameters;
    size_t ready = 0;
  };
  const Communicator& ranks_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const TensorImpl*, size_t> bucket_of_;
  size_t next_ = 0;  // buckets before this one are queued
  bool overlap_;     // GPU: reduce while backward goes on
  double seconds_waiting_ = 0;
};

}  // namespace mm
