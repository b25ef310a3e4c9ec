#pragma once
// Batches for one epoch, prepared by background threads while the training step runs.
//
// Everything is a function of (seed, epoch): the shuffle uses a generator seeded from both, and
// example k of the epoch draws its crop and flip as a function of (seed, epoch, k, view)
// (data/augment_math.h), the same on the host and on the GPU. So
// the batches do not depend on the number of workers or on timing, and a run resumed at an epoch
// boundary, or at a batch within an epoch (first_batch), sees exactly the batches an uninterrupted
// run would.
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "engine/rng.h"

namespace mm {

struct Batch {
  Tensor images;   // F32 [B, H, W, 3], normalised (and augmented when training)
  Tensor images2;  // a second, independent augmentation of the same images (two_views), else undefined
  Tensor labels;   // I64 [B]
  // the examples' rows in the dataset and places in the epoch's order, I64 [B] (host)
  Tensor indices, positions;
};

struct LoaderOptions {
  int batch_size = 128;
  bool shuffle = true;
  bool augment = true;
  bool two_views = false;  // distillation: views v and v'
  bool drop_last = true;   // training drops a last partial batch (BN needs full batches)
  uint64_t seed = 0;
  int epoch = 0;
  int workers = 2;
  int prefetch = 4;  // batches prepared ahead
  bool pinned = false;  // page-locked batches (training on the GPU): their copies to it do not wait
  int64_t first_batch = 0;  // start the epoch here (a run resumed mid-epoch): the batches are unchanged
  int rank = 0, ranks = 1;  // this process's share of each batch (batch_size is per rank)
  // The dataset's images, U8 [N, H, W, 3], already on the GPU: the workers then only pick the
  // examples, and next() augments them there (data/augment.cu), with the host's draws.
  Tensor device_images;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t num_batches() const { return num_batches_; }
  // The next batch of the epoch in order; false after the last. Rethrows what a worker threw.
  bool next(Batch& out);
  // The example order of this epoch (for tests).
  const std::vector<int64_t>& order() const { return order_; }

  // Builds batch b directly (what the workers run).
  Batch make_batch(int64_t b) const;

 private:
  void work(int64_t first);

  Dataset data_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t num_batches_ = 0, next_ = 0;
  int num_workers_ = 1;
  std::map<int64_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::exception_ptr failure_;  // the first exception of a worker, rethrown by next()
  std::vector<std::thread> workers_;
};

}  // namespace mm
