#include "train/data_parallel.h"

#include <chrono>

namespace mm {

GradientAverager::GradientAverager(const Communicator& ranks, const std::vector<Tensor>& parameters,
                                   int64_t bucket_bytes)
    : ranks_(ranks), overlap_(!parameters.empty() && parameters.front().device().is_cuda()) {
  int64_t bytes = bucket_bytes;
  for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
    if (bytes >= bucket_bytes) buckets_.emplace_back(), bytes = 0;
    bucket_of_[p->impl()] = buckets_.size() - 1;
    buckets_.back().parameters.push_back(*p);
    bytes += static_cast<int64_t>(p->nbytes());
  }
}

void GradientAverager::gradient_ready(const Tensor& parameter) {
  const auto it = bucket_of_.find(parameter.impl());
  if (it == bucket_of_.end()) return;  // not one of ours (a leaf input)
  ++buckets_[it->second].ready;
  if (!overlap_) return;
  while (next_ < buckets_.size() && buckets_[next_].ready == buckets_[next_].parameters.size()) reduce_next_bucket();
}

void GradientAverager::reduce_next_bucket() {
  std::vector<Tensor> gradients;
  for (const Tensor& p : buckets_[next_].parameters) gradients.push_back(p.grad_ref());  // zeros if none came
  ranks_.average_async(gradients);
  ++next_;
}

void GradientAverager::finish() {
  const auto start = std::chrono::steady_clock::now();
  while (next_ < buckets_.size()) reduce_next_bucket();
  ranks_.join();
  seconds_waiting_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  next_ = 0;
  for (Bucket& b : buckets_) b.ready = 0;
}

}  // namespace mm
