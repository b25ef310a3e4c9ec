// CIFAR-10/100 binary files (docs/math.md §2).
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"

namespace mm {

namespace {

constexpr int64_t kPixels = 32 * 32 * 3;

// Reads a whole file of fixed-size records. Official files hold 10 000 (50 000 for CIFAR-100's
// train.bin) records; any whole, non-zero number is accepted (tests write small files), and a size
// that is not a whole number of records is reported as truncated.
std::vector<uint8_t> read_records(const std::string& path, int64_t record_size) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in, "cannot open '{}' (is the dataset there? see scripts/get_data.sh)", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MM_CHECK(!bytes.empty() && static_cast<int64_t>(bytes.size()) % record_size == 0,
           "'{}' has {} bytes, not a whole number of {}-byte records (truncated, or not a CIFAR binary file?)", path,
           bytes.size(), record_size);
  return bytes;
}

// Reads the records of `files` into one dataset. label_offset: the byte of a record that holds the
// label; header: bytes before the pixels.
Dataset read_cifar(const std::vector<std::string>& files, int64_t label_offset, int64_t header, int num_classes) {
  const int64_t record = header + kPixels;
  std::vector<std::vector<uint8_t>> contents;
  int64_t n = 0;
  for (const std::string& path : files) {
    contents.push_back(read_records(path, record));
    n += static_cast<int64_t>(contents.back().size()) / record;
  }
  Dataset d;
  d.images = Tensor::empty({n, 32, 32, 3}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I64);
  d.num_classes = num_classes;
  uint8_t* img = d.images.data<uint8_t>();
  int64_t* lab = d.labels.data<int64_t>();
  int64_t k = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const std::vector<uint8_t>& bytes = contents[f];
    for (int64_t r = 0; r < static_cast<int64_t>(bytes.size()) / record; ++r, ++k) {
      const uint8_t* rec = bytes.data() + r * record;
      MM_CHECK(rec[label_offset] < num_classes, "'{}': record {} has label {}, expected < {}", files[f], r,
               rec[label_offset], num_classes);
      lab[k] = rec[label_offset];
      // planes R, G, B of 1024 bytes -> interleaved HWC
      for (int64_t p = 0; p < 1024; ++p)
        for (int64_t c = 0; c < 3; ++c) img[(k * 1024 + p) * 3 + c] = rec[header + c * 1024 + p];
    }
  }
  return d;
}

// The log name of a split pair; a copy smaller than the official files (a test's, a subset) says so.
std::string describe(const std::string& what, const DataSplits& s, Splits splits) {
  if (splits == Splits::TestOnly)
    return s.test.size() == 10000 ? what : fmt::format("{} ({} test images; the official file holds 10000)", what, s.test.size());
  if (s.train.size() == 50000 && s.test.size() == 10000) return what;
  return fmt::format("{} ({} training and {} test images; the official files hold 50000 and 10000)", what,
                     s.train.size(), s.test.size());
}

}  // namespace

DataSplits load_cifar10(const std::string& dir, Splits splits) {
  DataSplits s{{}, read_cifar({dir + "/test_batch.bin"}, 0, 1, 10), ""};
  s.train.num_classes = 10;
  if (splits == Splits::TestOnly) {
    s.name = describe("CIFAR-10 from " + dir, s, splits);
    return s;
  }
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i) files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  s.train = read_cifar(files, 0, 1, 10);
  // The six files hold 10 000 records each. Smaller copies are accepted when all six agree, so a
  // file cut short exactly at a record boundary is still caught.
  files.push_back(dir + "/test_batch.bin");
  for (const std::string& f : files)
    MM_CHECK(std::filesystem::file_size(f) == std::filesystem::file_size(files[0]),
             "CIFAR-10 files differ in size ('{}' has {} bytes, '{}' has {}): the six files hold the same "
             "number of records, so one of them is truncated",
             files[0], std::filesystem::file_size(files[0]), f, std::filesystem::file_size(f));
  s.name = describe("CIFAR-10 from " + dir, s, splits);
  return s;
}

DataSplits load_cifar100(const std::string& dir, Splits splits) {
  DataSplits s{{}, read_cifar({dir + "/test.bin"}, 1, 2, 100), ""};
  s.train.num_classes = 100;
  if (splits == Splits::TrainAndTest) s.train = read_cifar({dir + "/train.bin"}, 1, 2, 100);
  s.name = describe("CIFAR-100 from " + dir, s, splits);
  return s;
}

Dataset Dataset::subset(int64_t n) const {
  if (n <= 0 || n >= size()) return *this;
  const int64_t pixels = images.numel() / size();
  Shape shape = images.shape();
  shape[0] = n;
  Dataset d{Tensor::empty(shape, DType::U8), Tensor::empty({n}, DType::I64), num_classes};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t from = i * size() / n;
    std::memcpy(d.images.data<uint8_t>() + i * pixels, images.data<uint8_t>() + from * pixels, pixels);
    d.labels.data<int64_t>()[i] = labels.data<int64_t>()[from];
  }
  return d;
}

}  // namespace mm
