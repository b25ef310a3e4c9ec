#pragma once
// Datasets held in memory as raw pixels. Every loader returns images U8 [N, H, W, 3] (NHWC, RGB)
// and labels I64 [N] in [0, num_classes), and throws mm::Error naming the offending file on
// missing, truncated or malformed input.
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mm {

struct Dataset {
  Tensor images;  // U8 [N, H, W, 3]
  Tensor labels;  // I64 [N]
  int num_classes = 0;
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
  // n examples spread evenly over the dataset, indices floor(i * size / n) (so a class-sorted
  // image folder keeps every class); the whole dataset when n <= 0 or n >= size().
  Dataset subset(int64_t n) const;
};

// What to read: evaluation needs the test split only (decoding 50 000 training images for it would
// be wasted minutes); the train split is then empty. Classes still come from the training folders.
enum class Splits { TrainAndTest, TestOnly };

struct DataSplits {
  Dataset train, test;
  std::string name;  // what was loaded, for the log
};

// CIFAR-10 binary version: dir/data_batch_{1..5}.bin, dir/test_batch.bin; records of
// 1 label byte + 3072 bytes (1024 R, 1024 G, 1024 B, row-major 32 x 32).
DataSplits load_cifar10(const std::string& dir, Splits splits = Splits::TrainAndTest);
// CIFAR-100 binary version: dir/train.bin, dir/test.bin; records of coarse byte, fine byte,
// 3072 pixel bytes. Labels are the 100 fine classes.
DataSplits load_cifar100(const std::string& dir, Splits splits = Splits::TrainAndTest);
// root/train/<class>/<image> and root/test/<class>/<image> (or root/val/...), decoded with
// stb_image in parallel. Classes are the sorted folder names of train/. Files without an image
// extension (.jpg, .png, ...) are skipped. All images must share one size (else the error names the
// first file that differs); grey images become RGB. An image whose header claims more than
// max_pixels is refused before it is decoded (a header may claim anything; stb decodes the pixels
// a file lacks as zeros).
constexpr int64_t kMaxImagePixels = int64_t(1) << 22;  // 2048 x 2048
DataSplits load_image_folder(const std::string& root, Splits splits = Splits::TrainAndTest,
                             int64_t max_pixels = kMaxImagePixels);
// Fashion-MNIST gzipped IDX files in dir (train-images-idx3-ubyte.gz, ...): 28 x 28 grey images,
// zero-padded to 32 x 32 and replicated to 3 channels.
DataSplits load_fashion_mnist(const std::string& dir, Splits splits = Splits::TrainAndTest);
// Where Debian's dataset-fashion-mnist package installs the files.
constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// `--dataset` dispatch: cifar10 | cifar100 | folder | fashion-mnist | auto. auto uses CIFAR-10 from
// `dir` (or ./data/cifar-10-batches-bin) when its files are there, else Fashion-MNIST from Debian.
DataSplits load_dataset(const std::string& kind, const std::string& dir, Splits splits = Splits::TrainAndTest);

}  // namespace mm
