#include "data/loader.h"

#include <algorithm>

#include "data/augment.h"

namespace mm {

BatchLoader::BatchLoader(const Dataset& data, LoaderOptions options) : data_(data), options_(options) {
  MM_CHECK(options.batch_size >= 1, "batch size must be positive, got {}", options.batch_size);
  MM_CHECK(options.ranks >= 1 && 0 <= options.rank && options.rank < options.ranks, "rank {} of {}", options.rank,
           options.ranks);
  const int64_t n = data.size();
  order_.resize(n);
  for (int64_t i = 0; i < n; ++i) order_[i] = i;
  if (options.shuffle) {
    Rng rng = seeded_rng({options.seed, static_cast<uint64_t>(options.epoch), 0xFFFFFFFFull});
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(i + 1)]);  // Fisher-Yates
  }
  const int64_t global_batch = static_cast<int64_t>(options.batch_size) * options.ranks;
  num_batches_ = options.drop_last ? n / global_batch : (n + global_batch - 1) / global_batch;
  MM_CHECK(0 <= options.first_batch && options.first_batch <= num_batches_, "first batch {} of an epoch of {} batches",
           options.first_batch, num_batches_);
  next_ = options.first_batch;
  num_workers_ = std::max(1, options.workers);
  for (int w = 0; w < num_workers_; ++w) workers_.emplace_back([this, first = next_ + w] { work(first); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
}

Batch BatchLoader::make_batch(int64_t b) const {
  // this rank's positions in the order: begin, begin + K, ... (below the end of the data)
  const int64_t K = options_.ranks, begin = b * options_.batch_size * K + options_.rank;
  const int64_t B = std::clamp<int64_t>((data_.size() - begin + K - 1) / K, 0, options_.batch_size);
  const int64_t H = data_.images.dim(1), W = data_.images.dim(2);
  auto empty = [&](const Shape& shape, DType dtype) {
    return options_.pinned ? Tensor::empty_pinned(shape, dtype) : Tensor::empty(shape, dtype);
  };
  Batch batch;
  batch.labels = empty({B}, DType::I64);
  batch.indices = empty({B}, DType::I64);
  batch.positions = empty({B}, DType::I64);
  for (int64_t k = 0; k < B; ++k) {
    const int64_t position = begin + k * K, index = order_[position];
    batch.indices.data<int64_t>()[k] = index;
    batch.positions.data<int64_t>()[k] = position;
    batch.labels.data<int64_t>()[k] = data_.labels.data<int64_t>()[index];
  }
  if (options_.device_images.defined()) return batch;  // next() augments on the GPU
  batch.images = empty({B, H, W, 3}, DType::F32);
  if (options_.two_views) batch.images2 = empty({B, H, W, 3}, DType::F32);
  for (int64_t k = 0; k < B; ++k) {
    const uint8_t* src = data_.images.data<uint8_t>() + batch.indices.data<int64_t>()[k] * H * W * 3;
    for (int view = 0; view < (options_.two_views ? 2 : 1); ++view) {
      Tensor& images = view == 0 ? batch.images : batch.images2;
      augment_normalise(src, static_cast<int>(H), static_cast<int>(W),
                        math::view_crop_flip(options_.augment, options_.seed, options_.epoch,
                                             batch.positions.data<int64_t>()[k], view),
                        images.data<float>() + k * H * W * 3);
    }
  }
  return batch;
}

void BatchLoader::work(int64_t first) {
  // Worker w prepares batches first_batch + w, then every workers-th one after it
  for (int64_t b = first; b < num_batches_; b += num_workers_) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || b < next_ + options_.prefetch; });
      if (stopping_) return;
    }
    try {
      Batch batch = make_batch(b);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[b] = std::move(batch);
    } catch (...) {  // an exception must not end the process from a worker thread
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
      stopping_ = true;
    }
    changed_.notify_all();
  }
}

bool BatchLoader::next(Batch& out) {
  if (next_ >= num_batches_) return false;
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return ready_.count(next_) > 0 || failure_; });
  if (!ready_.count(next_)) std::rethrow_exception(failure_);
  out = std::move(ready_[next_]);
  ready_.erase(next_);
  ++next_;
  lock.unlock();
  changed_.notify_all();
  if (options_.device_images.defined()) {
    const Device device = options_.device_images.device();
    const Tensor indices = out.indices.to(device), positions = out.positions.to(device);
    out.images = augment_batch(options_.device_images, indices, positions, options_.seed, options_.epoch, 0, options_.augment);
    if (options_.two_views)
      out.images2 = augment_batch(options_.device_images, indices, positions, options_.seed, options_.epoch, 1, options_.augment);
  }
  return true;
}

}  // namespace mm
