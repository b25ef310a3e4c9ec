// Loaders on small files written here (including every corrupt case), augmentation exactness and
// loader determinism.
#include <algorithm>
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/augment.h"
#include "data/loader.h"

namespace mm {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("mm_data_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A CIFAR record: pixel (y, x) of channel c holds (c * 50 + y + x + seed) mod 256.
std::vector<uint8_t> cifar_record(std::vector<uint8_t> header, int seed) {
  std::vector<uint8_t> r = header;
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 1024; ++p) r.push_back(static_cast<uint8_t>(c * 50 + p / 32 + p % 32 + seed));
  return r;
}

std::string write_cifar10(const std::string& name, int per_file) {
  const std::string dir = fresh_dir(name);
  for (int f = 1; f <= 6; ++f) {
    std::vector<uint8_t> bytes;
    for (int r = 0; r < per_file; ++r) {
      auto rec = cifar_record({static_cast<uint8_t>((f + r) % 10)}, f * 10 + r);
      bytes.insert(bytes.end(), rec.begin(), rec.end());
    }
    write_bytes(dir + (f <= 5 ? "/data_batch_" + std::to_string(f) + ".bin" : "/test_batch.bin"), bytes);
  }
  return dir;
}

TEST(Cifar, Cifar10RecordsBecomeNhwcImages) {
  const std::string dir = write_cifar10("c10", 3);
  DataSplits s = load_cifar10(dir);
  ASSERT_EQ(s.train.size(), 15);
  ASSERT_EQ(s.test.size(), 3);
  EXPECT_EQ(s.train.num_classes, 10);
  EXPECT_EQ(s.train.images.shape(), (Shape{15, 32, 32, 3}));
  // example 4 = file 2, record 1: label (2 + 1) % 10, seed 21; pixel (y=5, x=7), channel 2
  EXPECT_EQ(s.train.labels.data<int64_t>()[4], 3);
  EXPECT_EQ(s.train.images.data<uint8_t>()[((4 * 32 + 5) * 32 + 7) * 3 + 2], (2 * 50 + 5 + 7 + 21) % 256);
  EXPECT_NE(s.name.find("15 training and 3 test images; the official files hold 50000 and 10000"), std::string::npos)
      << s.name;
}

// evaluate reads the test split only; the training files are not even opened.
TEST(Cifar, TestSplitAloneLeavesTrainingFilesUnread) {
  const std::string dir = write_cifar10("test_only", 4);
  fs::remove(dir + "/data_batch_3.bin");
  const DataSplits s = load_dataset("cifar10", dir, Splits::TestOnly);
  EXPECT_EQ(s.train.size(), 0);
  EXPECT_EQ(s.train.num_classes, 10);
  EXPECT_EQ(s.test.size(), 4);
  EXPECT_THROW(load_dataset("cifar10", dir), Error);  // both splits: the missing file is an error
}

TEST(Cifar, CorruptFilesFailWithTheirName) {
  const std::string dir = write_cifar10("c10_bad", 2);
  fs::resize_file(dir + "/data_batch_3.bin", 3073 * 2 - 100);  // truncated
  try {
    load_cifar10(dir);
    FAIL() << "a truncated file loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_batch_3.bin"), std::string::npos) << e.what();
  }
  fs::resize_file(dir + "/data_batch_3.bin", 3073);  // cut at a record boundary: one file holds fewer
  try {
    load_cifar10(dir);
    FAIL() << "a file cut at a record boundary loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_batch_3.bin"), std::string::npos) << e.what();
  }
  fs::remove(dir + "/data_batch_3.bin");
  EXPECT_THROW(load_cifar10(dir), Error);  // missing file
  const std::string bad = write_cifar10("c10_label", 1);
  write_bytes(bad + "/test_batch.bin", cifar_record({42}, 0));  // label 42 in CIFAR-10
  EXPECT_THROW(load_cifar10(bad), Error);
  EXPECT_THROW(load_cifar10(fresh_dir("empty")), Error);
}

TEST(Cifar, Cifar100UsesTheFineLabel) {
  const std::string dir = fresh_dir("c100");
  auto rec = cifar_record({7, 93}, 1);
  write_bytes(dir + "/train.bin", rec);
  write_bytes(dir + "/test.bin", rec);
  DataSplits s = load_cifar100(dir);
  EXPECT_EQ(s.train.num_classes, 100);
  EXPECT_EQ(s.train.labels.data<int64_t>()[0], 93);
  EXPECT_EQ(s.test.images.data<uint8_t>()[0], 1);  // channel 0 of pixel (0, 0) = seed
}

void write_png(const std::string& path, int w, int h, uint8_t value) {
  std::vector<uint8_t> px(size_t(w) * h * 3, value);
  ASSERT_TRUE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3));
}

std::string write_folder(const std::string& name) {
  const std::string root = fresh_dir(name);
  for (std::string split : {"train", "test"})
    for (std::string cls : {"cat", "ant"}) {
      fs::create_directories(root + "/" + split + "/" + cls);
      for (int i = 0; i < 2; ++i) write_png(root + "/" + split + "/" + cls + "/" + std::to_string(i) + ".png", 8, 6, cls == "cat" ? 200 : 10);
    }
  return root;
}

TEST(ImageFolder, LoadsSortedClasses) {
  DataSplits s = load_image_folder(write_folder("folder"));
  EXPECT_EQ(s.train.num_classes, 2);
  EXPECT_EQ(s.train.images.shape(), (Shape{4, 6, 8, 3}));
  // classes sorted: ant = 0 (value 10), cat = 1 (value 200)
  EXPECT_EQ(s.train.labels.to_doubles(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(s.train.images.data<uint8_t>()[0], 10);
  EXPECT_EQ(s.test.images.data<uint8_t>()[3 * 6 * 8 * 3 - 1], 200);
}

// Files that are not images by their extension (.DS_Store, notes) are skipped, as torchvision's
// ImageFolder skips them; an image with an upper-case extension is read.
TEST(ImageFolder, SkipsFilesThatAreNotImages) {
  const std::string root = write_folder("non_images");
  write_bytes(root + "/train/cat/.DS_Store", {0, 1, 2, 3});
  write_bytes(root + "/train/ant/notes.txt", {'h', 'i'});
  write_png(root + "/train/ant/7.PNG", 8, 6, 10);
  const DataSplits s = load_image_folder(root);
  EXPECT_EQ(s.train.size(), 5);
  EXPECT_EQ(s.train.labels.to_doubles(), (std::vector<double>{0, 0, 0, 1, 1}));
}

TEST(ImageFolder, BadInputsFailClearly) {
  auto expect_error = [](const std::string& root, const std::string& needle) {
    try {
      load_image_folder(root);
      FAIL() << "loaded " << root;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::string root = write_folder("wrong_size");
  write_png(root + "/train/cat/9.png", 8, 7, 1);
  expect_error(root, "9.png");
  root = write_folder("undecodable");
  write_bytes(root + "/train/ant/5.png", {1, 2, 3});
  expect_error(root, "5.png");
  // a JPEG table of 300 codes (a 257-entry list in stb_image 2.27: it wrote past it; found by fuzzing)
  root = write_folder("jpeg_dht");
  std::vector<uint8_t> jpeg{0xFF, 0xD8, 0xFF, 0xC4, 0x00, 19, 0x00, 255, 45};
  jpeg.resize(jpeg.size() + 14, 0);
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  write_bytes(root + "/train/ant/6.jpg", jpeg);
  expect_error(root, "Huffman");
  // the same after fill bytes before the start marker, which stb skips (found by fuzzing)
  root = write_folder("jpeg_dht_fill");
  jpeg.insert(jpeg.begin(), {0xFF, 0xFF});
  write_bytes(root + "/train/ant/6.jpg", jpeg);
  expect_error(root, "Huffman");
  // a scan that uses a Huffman table no DHT segment defined (AC 1: stb 2.27 decoded with the
  // uninitialised table, and UBSan caught a shift by -66 in its consistency check; found by fuzzing)
  root = write_folder("jpeg_undefined_table");
  fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/ubsan-jpeg-corrupt-huffman-assert",
                root + "/train/ant/6.jpg");
  expect_error(root, "a JPEG scan uses Huffman table AC 1, which no DHT segment before it defines");
  // a PPM whose width has 44 digits (stb 2.27 read it into an int, overflowing; found by fuzzing),
  // and one whose height overflows after a comment, as stb skips it
  root = write_folder("pnm_overflow");
  fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/ubsan-pnm-width-overflow", root + "/train/ant/6.ppm");
  expect_error(root, "a PNM header's width has more digits than an int holds");
  root = write_folder("pnm_overflow_comment");
  const std::string ppm = "P6 4 # a comment\n 2147483648 255\n";
  write_bytes(root + "/train/ant/6.ppm", std::vector<uint8_t>(ppm.begin(), ppm.end()));
  expect_error(root, "a PNM header's height has more digits than an int holds");
  // a 16-bit PGM (stb 2.27 converts it to RGB as if it had 8 bits, then reads past the result;
  // AddressSanitizer, found by fuzzing), and a 16-bit PPM, whose big-endian samples stb 2.27 takes
  // as little-endian (it loaded, with every pixel the low byte of its sample)
  root = write_folder("pgm_16_bit");
  fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/asan-pgm-16-bit-as-rgb", root + "/train/ant/6.pgm");
  expect_error(root, "16-bit PGM and PPM images (largest value 550) are not supported");
  root = write_folder("ppm_16_bit");
  std::string ppm16 = "P6\n4 3\n65535\n";
  for (int i = 0; i < 4 * 3 * 3; ++i) ppm16 += {char(i * 7), char(0)};
  write_bytes(root + "/train/ant/6.ppm", std::vector<uint8_t>(ppm16.begin(), ppm16.end()));
  expect_error(root, "(largest value 65535) are not supported");
  // a header that claims more pixels than a dataset image has is refused before stb decodes (a
  // 200-byte TGA claiming 65 496 x 224 kept the sanitizer build busy for 14 s; found by fuzzing)
  root = write_folder("tga_huge");
  std::vector<uint8_t> tga(18, 0);  // no id, no colour map, uncompressed true colour, 24 bits
  tga[2] = 2;
  tga[12] = 0x01, tga[13] = 0x08;  // width 2049 (little-endian)
  tga[15] = 0x08;                  // height 2048
  tga[16] = 24;
  write_bytes(root + "/train/ant/7.tga", tga);
  expect_error(root, "more than the");
  // a PNG chunk that claims more bytes than the file has (stb 2.27 reserved all 1.6 GB of it; found by fuzzing)
  root = write_folder("png_chunk");
  fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/timeout-png-chunk-past-the-end", root + "/train/ant/9.png");
  expect_error(root, "PNG chunk (IDAT) claims 1660944402 bytes");
  // also when the height is negative (a top-down BMP: 4 x -15 859 709 pixels; found by fuzzing)
  root = write_folder("bmp_huge");
  fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/timeout-bmp-negative-height", root + "/train/ant/8.bmp");
  expect_error(root, "more than the");
  // while real JPEGs (4 x 3, written by PIL; stb's own JPEG writer is undefined behaviour under
  // UBSan) decode: a baseline one, and a progressive one, whose first scan (DC) names AC table 0
  // before any DHT segment defines it, and whose DC refinement scan uses no table at all
  for (const char* name : {"rgb_4x3.jpg", "rgb_4x3_progressive.jpg"}) {
    SCOPED_TRACE(name);
    root = fresh_dir(std::string("jpeg_ok_") + name);
    for (const char* split : {"train", "test"}) {
      fs::create_directories(root + "/" + split + "/a");
      fs::copy_file(std::string(MM_SOURCE_DIR) + "/fuzz/corpus/image_folder/" + name, root + "/" + split + "/a/x.jpg");
    }
    EXPECT_EQ(load_image_folder(root).train.images.shape(), (Shape{1, 3, 4, 3}));
  }
  // and so does an 8-bit PPM, with a comment in its header, pixel for pixel
  root = fresh_dir("ppm_8_bit");
  std::string ppm8 = "P6\n# written by hand\n4 3\n255\n";
  for (int i = 0; i < 4 * 3 * 3; ++i) ppm8 += char(i * 7);
  for (const char* split : {"train", "test"}) {
    fs::create_directories(root + "/" + split + "/a");
    write_bytes(root + "/" + split + "/a/x.ppm", std::vector<uint8_t>(ppm8.begin(), ppm8.end()));
  }
  const Tensor ppm_pixels = load_image_folder(root).train.images;
  ASSERT_EQ(ppm_pixels.shape(), (Shape{1, 3, 4, 3}));
  for (int i = 0; i < 4 * 3 * 3; ++i) EXPECT_EQ(ppm_pixels.data<uint8_t>()[i], uint8_t(i * 7));
  root = write_folder("empty_class");
  fs::create_directories(root + "/train/bee");
  expect_error(root, "bee");
  expect_error(fresh_dir("no_train"), "train");
  root = write_folder("val");
  fs::rename(root + "/test", root + "/val");
  EXPECT_EQ(load_image_folder(root).test.size(), 4);
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::vector<uint8_t> idx_header(uint32_t magic, std::vector<uint32_t> dims) {
  std::vector<uint8_t> out;
  for (uint32_t v : std::vector<uint32_t>{magic}) dims.insert(dims.begin(), v);
  for (uint32_t v : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
  return out;
}

TEST(FashionMnist, PadsTo32AndReplicatesChannels) {
  const std::string dir = fresh_dir("fmnist");
  for (std::string prefix : {"train", "t10k"}) {
    auto img = idx_header(0x803, {2, 28, 28});
    for (int k = 0; k < 2; ++k)
      for (int p = 0; p < 784; ++p) img.push_back(static_cast<uint8_t>(p % 251 + k));
    auto lab = idx_header(0x801, {2});
    lab.push_back(3);
    lab.push_back(9);
    write_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz", img);
    write_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz", lab);
  }
  DataSplits s = load_fashion_mnist(dir);
  EXPECT_EQ(s.train.images.shape(), (Shape{2, 32, 32, 3}));
  EXPECT_EQ(s.train.labels.to_doubles(), (std::vector<double>{3, 9}));
  const uint8_t* px = s.train.images.data<uint8_t>();
  EXPECT_EQ(px[0], 0);  // padding
  // example 1, source pixel (y=0, x=5) -> (2, 7), every channel
  for (int c = 0; c < 3; ++c) EXPECT_EQ(px[((32 + 2) * 32 + 7) * 3 + c], 5 % 251 + 1);
  // truncated image file
  auto img = idx_header(0x803, {2, 28, 28});
  img.resize(img.size() + 700);
  write_gz(dir + "/train-images-idx3-ubyte.gz", img);
  EXPECT_THROW(load_fashion_mnist(dir), Error);
  EXPECT_THROW(load_fashion_mnist(fresh_dir("fm_missing")), Error);
}

TEST(Augment, CropAndFlipFollowTheFormula) {
  const int H = 6, W = 5;
  std::vector<uint8_t> src(H * W * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 % 256);
  std::vector<float> out(src.size());
  auto expected = [&](int y, int x, int c, CropFlip t) {
    // crop from the padded image, then flip the crop
    const int px = t.flip ? W - 1 - x : x;
    const int sy = y + t.dy - 4, sx = px + t.dx - 4;
    const float v = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? src[(sy * W + sx) * 3 + c] / 255.0f : 0.0f;
    return (v - math::channel_mean(c)) / math::channel_std(c);
  };
  for (CropFlip t : {CropFlip{4, 4, false}, CropFlip{0, 8, false}, CropFlip{8, 0, true}, CropFlip{3, 6, true}}) {
    augment_normalise(src.data(), H, W, t, out.data());
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        for (int c = 0; c < 3; ++c) ASSERT_FLOAT_EQ(out[(y * W + x) * 3 + c], expected(y, x, c, t));
  }
  // the identity crop without flip is plain normalisation; a flip mirrors it exactly
  augment_normalise(src.data(), H, W, CropFlip{4, 4, false}, out.data());
  EXPECT_FLOAT_EQ(out[(2 * W + 1) * 3 + 1], (src[(2 * W + 1) * 3 + 1] / 255.0f - 0.4822f) / 0.1994f);
  std::vector<float> flipped(src.size());
  augment_normalise(src.data(), H, W, CropFlip{4, 4, true}, flipped.data());
  EXPECT_EQ(flipped[(2 * W + 0) * 3 + 1], out[(2 * W + W - 1) * 3 + 1]);
}

TEST(Augment, DrawsCoverTheRange) {
  std::vector<int> dy_count(9, 0), dx_count(9, 0);
  int flips = 0, same_as_view0 = 0, same_as_next_epoch = 0;
  for (int i = 0; i < 9000; ++i) {
    const CropFlip t = math::crop_flip_at(3, 5, i, 0), v1 = math::crop_flip_at(3, 5, i, 1), e = math::crop_flip_at(3, 6, i, 0);
    ASSERT_TRUE(0 <= t.dy && t.dy <= 8 && 0 <= t.dx && t.dx <= 8);
    dy_count[t.dy]++;
    dx_count[t.dx]++;
    flips += t.flip;
    same_as_view0 += v1.dy == t.dy && v1.dx == t.dx && v1.flip == t.flip;
    same_as_next_epoch += e.dy == t.dy && e.dx == t.dx && e.flip == t.flip;
  }
  for (int k = 0; k < 9; ++k) {
    EXPECT_NEAR(dy_count[k], 1000, 150);
    EXPECT_NEAR(dx_count[k], 1000, 150);
  }
  EXPECT_NEAR(flips, 4500, 250);
  // the second view and the next epoch draw independently: 1 / 162 of the triples agree by chance
  EXPECT_NEAR(same_as_view0, 9000 / 162, 30);
  EXPECT_NEAR(same_as_next_epoch, 9000 / 162, 30);
}

Dataset small_dataset(int n) {
  Dataset d{Tensor::empty({n, 8, 8, 3}, DType::U8), Tensor::empty({n}, DType::I64), 4};
  for (int64_t i = 0; i < d.images.numel(); ++i) d.images.data<uint8_t>()[i] = static_cast<uint8_t>(i % 256);
  for (int i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = i % 4;
  return d;
}

std::vector<Batch> all_batches(const Dataset& d, LoaderOptions o) {
  BatchLoader loader(d, o);
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  EXPECT_EQ(static_cast<int64_t>(out.size()), loader.num_batches() - o.first_batch);
  return out;
}

// Training options with two views: batches of 8, seed 11, epoch 3.
LoaderOptions two_view_options() {
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 11;
  o.epoch = 3;
  o.two_views = true;
  return o;
}

// The same batches, both views and the labels, exactly.
void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].images.to_doubles(), b[i].images.to_doubles()) << "batch " << i;
    EXPECT_EQ(a[i].images2.to_doubles(), b[i].images2.to_doubles()) << "batch " << i;
    EXPECT_EQ(a[i].labels.to_doubles(), b[i].labels.to_doubles()) << "batch " << i;
  }
}

TEST(Loader, DeterministicWhateverTheNumberOfWorkers) {
  Dataset d = small_dataset(50);
  LoaderOptions o = two_view_options();
  o.workers = 1;
  auto a = all_batches(d, o);
  o.workers = 3;
  auto b = all_batches(d, o);
  ASSERT_EQ(a.size(), 6u);  // 50 / 8, last partial batch dropped
  expect_same_batches(a, b);
  for (const Batch& batch : a) EXPECT_NE(batch.images.to_doubles(), batch.images2.to_doubles());  // two independent views
  o.epoch = 4;
  auto c = all_batches(d, o);
  EXPECT_NE(a[0].labels.to_doubles(), c[0].labels.to_doubles());  // a new epoch, a new order (almost surely)
}

// --augment-on device: the images kept where the step runs and augmented there by augment_batch
// give the workers' batches exactly (here that place is the CPU; test_cuda checks the GPU's kernel).
TEST(Loader, AugmentingWhereTheStepRunsGivesTheWorkersBatches) {
  Dataset d = small_dataset(50);
  LoaderOptions o = two_view_options();
  o.ranks = 2;
  o.rank = 1;
  const auto host = all_batches(d, o);
  o.device_images = d.images;
  expect_same_batches(all_batches(d, o), host);
  EXPECT_THROW(augment_batch(d.images, Tensor::from_vector<int64_t>({50}, {1}), Tensor::from_vector<int64_t>({0}, {1}), 0, 0,
                             0, true),
               Error);  // an index outside the set
}

// A run resumed mid-epoch starts its loader at a batch: what follows is the uninterrupted epoch's tail.
TEST(Loader, StartingAtABatchGivesTheRestOfTheEpoch) {
  Dataset d = small_dataset(50);
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 5;
  o.epoch = 2;
  o.workers = 3;
  const auto whole = all_batches(d, o);
  o.first_batch = 4;
  const auto tail = all_batches(d, o);
  ASSERT_EQ(tail.size(), 2u);
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i].images.to_doubles(), whole[i + 4].images.to_doubles());
    EXPECT_EQ(tail[i].labels.to_doubles(), whole[i + 4].labels.to_doubles());
  }
  o.first_batch = 7;
  EXPECT_THROW(BatchLoader(d, o), Error);
}

// Data-parallel runs (docs/distributed.md): rank r of K takes examples r, r + K, ... of each global
// batch of K m, with the crop and flip of its position, so the ranks' batch b together are batch b
// of one loader with batch K m; evaluation (no drop) deals the last partial batch the same way.
TEST(Loader, RanksTakeInterleavedSharesOfEachGlobalBatch) {
  Dataset d = small_dataset(50);
  for (bool training : {true, false}) {
    LoaderOptions o;
    o.seed = 9, o.epoch = 1, o.workers = 2;
    o.shuffle = o.augment = o.drop_last = training;
    o.batch_size = 12;
    const auto whole = all_batches(d, o);
    o.batch_size = 4, o.ranks = 3;
    std::vector<std::vector<Batch>> shares;
    for (o.rank = 0; o.rank < 3; ++o.rank) shares.push_back(all_batches(d, o));
    ASSERT_EQ(whole.size(), training ? 4u : 5u);  // 50 / 12: 4 full batches, then 2 images
    const int64_t pixels = whole[0].images.numel() / whole[0].images.dim(0);
    for (size_t b = 0; b < whole.size(); ++b) {
      const auto all_images = whole[b].images.to_doubles(), all_labels = whole[b].labels.to_doubles();
      for (int r = 0; r < 3; ++r) {
        ASSERT_EQ(shares[r].size(), whole.size());
        const auto images = shares[r][b].images.to_doubles(), labels = shares[r][b].labels.to_doubles();
        const int64_t expected = (whole[b].labels.numel() - r + 2) / 3;  // positions r, r + 3, ... of the batch
        ASSERT_EQ(static_cast<int64_t>(labels.size()), expected) << "batch " << b << " rank " << r;
        for (int64_t k = 0; k < expected; ++k) {
          const int64_t position = r + 3 * k;
          EXPECT_EQ(labels[k], all_labels[position]);
          EXPECT_TRUE(std::equal(images.begin() + k * pixels, images.begin() + (k + 1) * pixels,
                                 all_images.begin() + position * pixels))
              << "batch " << b << " rank " << r << " example " << k;
        }
      }
    }
  }
}

// tests/reference/engine_stream.py replays the loader's order and draws in Python, so that PyTorch
// can train on train_cifar's very batches (train_reference.py --data-stream engine). It must stay
// the loader's twin: the first positions of an epoch agree. Needs python3 (skips without it).
TEST(Loader, PythonTwinOfTheDataStreamAgrees) {
  if (std::system("python3 -c 'import sys' > /dev/null 2>&1") != 0) GTEST_SKIP() << "no python3: skipped, not passed";
  const std::string out = ::testing::TempDir() + "mm_stream.txt";
  const std::string cmd = "python3 " + std::string(MM_SOURCE_DIR) + "/tests/reference/engine_stream.py 7 3 1000 > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Dataset data{Tensor::zeros({1000, 2, 2, 3}, DType::U8), Tensor::zeros({1000}, DType::I64), 10};
  LoaderOptions o;
  o.seed = 7;
  o.epoch = 3;
  o.workers = 1;
  BatchLoader loader(data, o);
  std::ifstream in(out);
  for (int p = 0; p < 8; ++p) {
    int64_t index = -1;
    int dy = -1, dx = -1, flip = -1;
    ASSERT_TRUE(in >> index >> dy >> dx >> flip) << "line " << p;
    EXPECT_EQ(index, loader.order()[p]) << p;
    const CropFlip t = math::crop_flip_at(7, 3, p, 0);
    EXPECT_EQ(dy, t.dy) << p;
    EXPECT_EQ(dx, t.dx) << p;
    EXPECT_EQ(flip, int(t.flip)) << p;
  }
}

TEST(Loader, EvaluationOrderIsPlainAndComplete) {
  Dataset d = small_dataset(10);
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = o.augment = o.drop_last = false;
  auto batches = all_batches(d, o);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].labels.to_doubles(), (std::vector<double>{0, 1}));  // examples 8, 9
  BatchLoader loader(d, o);
  const std::vector<int64_t>& order = loader.order();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(order[i], i);
}

TEST(Dataset, SubsetSpreadsOverTheWholeSet) {
  Dataset d = small_dataset(12);
  Dataset s = d.subset(4);
  EXPECT_EQ(s.labels.to_doubles(), (std::vector<double>{0, 3, 2, 1}));  // indices 0, 3, 6, 9
  EXPECT_EQ(d.subset(0).size(), 12);
}

}  // namespace
}  // namespace mm
