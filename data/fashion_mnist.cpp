// Fashion-MNIST gzipped IDX files, as Debian's dataset-fashion-mnist installs them: the offline
// default dataset. 28 x 28 grey images are zero-padded to 32 x 32 and replicated to 3 channels.
#include <zlib.h>

#include <filesystem>

#include "data/dataset.h"

namespace mm {

namespace {

std::vector<uint8_t> read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  MM_CHECK(f, "cannot open '{}' (apt-get install dataset-fashion-mnist)", path);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  const bool ok = n == 0;
  gzclose(f);
  MM_CHECK(ok, "'{}' is not a valid gzip file (truncated?)", path);
  return out;
}

uint32_t big_endian(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  const std::vector<uint8_t> img = read_gzip(images_path), lab = read_gzip(labels_path);
  MM_CHECK(img.size() >= 16 && big_endian(img.data()) == 0x803, "'{}' is not an IDX image file", images_path);
  MM_CHECK(lab.size() >= 8 && big_endian(lab.data()) == 0x801, "'{}' is not an IDX label file", labels_path);
  const int64_t n = big_endian(img.data() + 4), rows = big_endian(img.data() + 8), cols = big_endian(img.data() + 12);
  MM_CHECK(rows == 28 && cols == 28, "'{}' holds {}x{} images, expected 28x28", images_path, rows, cols);
  MM_CHECK(static_cast<int64_t>(img.size()) == 16 + n * 784, "'{}' is truncated", images_path);
  MM_CHECK(big_endian(lab.data() + 4) == n && static_cast<int64_t>(lab.size()) == 8 + n,
           "'{}' does not hold {} labels", labels_path, n);
  Dataset d;
  d.images = Tensor::zeros({n, 32, 32, 3}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I64);
  d.num_classes = 10;
  uint8_t* out = d.images.data<uint8_t>();
  for (int64_t k = 0; k < n; ++k) {
    MM_CHECK(lab[8 + k] < 10, "'{}': label {} of example {} is not in [0, 10)", labels_path, lab[8 + k], k);
    d.labels.data<int64_t>()[k] = lab[8 + k];
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x)
        for (int64_t c = 0; c < 3; ++c) out[((k * 32 + y + 2) * 32 + x + 2) * 3 + c] = img[16 + k * 784 + y * 28 + x];
  }
  return d;
}

}  // namespace

DataSplits load_fashion_mnist(const std::string& dir, Splits splits) {
  DataSplits s{{}, read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz"), "Fashion-MNIST from " + dir};
  s.train.num_classes = s.test.num_classes;
  if (splits == Splits::TrainAndTest)
    s.train = read_idx_pair(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
  return s;
}

DataSplits load_dataset(const std::string& kind, const std::string& dir, Splits splits) {
  namespace fs = std::filesystem;
  if (kind == "cifar10") return load_cifar10(dir, splits);
  if (kind == "cifar100") return load_cifar100(dir, splits);
  if (kind == "folder") return load_image_folder(dir, splits);
  if (kind == "fashion-mnist") return load_fashion_mnist(dir.empty() ? kDebianFashionMnistDir : dir, splits);
  MM_CHECK(kind == "auto", "unknown dataset '{}' (expected cifar10, cifar100, folder, fashion-mnist or auto)", kind);
  for (const std::string& candidate : {dir, std::string("data/cifar-10-batches-bin")})
    if (!candidate.empty() && fs::exists(fs::path(candidate) / "data_batch_1.bin")) return load_cifar10(candidate, splits);
  MM_CHECK(dir.empty(), "--dataset auto: no CIFAR-10 binary files in '{}'", dir);
  return load_fashion_mnist(kDebianFashionMnistDir, splits);
}

}  // namespace mm
