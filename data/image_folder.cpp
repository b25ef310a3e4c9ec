// Image-folder datasets decoded with stb_image (docs/math.md §2): root/{train,test|val}/<class>/<image>.
#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "data/dataset.h"

namespace mm {

namespace fs = std::filesystem;

namespace {

struct ImageFile {
  std::string path;
  int64_t label;
};

// The file kinds stb_image decodes, by extension (any case), as torchvision's ImageFolder filters:
// anything else in a class folder (.DS_Store, Thumbs.db, notes) is not an image and is skipped.
bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif", ".ppm", ".pgm", ".psd", ".hdr", ".pic"})
    if (ext == known) return true;
  return false;
}

// Lists split_dir/<class>/<image> for the given classes (sorted, so the order is reproducible).
std::vector<ImageFile> list_split(const fs::path& split_dir, const std::vector<std::string>& classes) {
  std::vector<ImageFile> files;
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path dir = split_dir / classes[c];
    if (!fs::is_directory(dir)) continue;  // a test split may lack a class
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && is_image_file(e.path())) names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    for (auto& n : names) files.push_back({n, static_cast<int64_t>(c)});
  }
  return files;
}

// Decodes every file in parallel into one U8 [N, H, W, 3] tensor. The first image fixes H and W.
Dataset decode_all(const std::vector<ImageFile>& files, int num_classes, const std::string& split_dir) {
  MM_CHECK(!files.empty(), "'{}' holds no images", split_dir);
  int H = 0, W = 0, channels = 0;
  MM_CHECK(stbi_info(files[0].path.c_str(), &W, &H, &channels), "cannot decode '{}': {}", files[0].path,
           stbi_failure_reason());
  const int64_t n = static_cast<int64_t>(files.size());
  Dataset d;
  d.images = Tensor::empty({n, H, W, 3}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I64);
  d.num_classes = num_classes;
  std::string error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    int w = 0, h = 0, c = 0;
    uint8_t* pixels = stbi_load(files[i].path.c_str(), &w, &h, &c, 3);
    std::string problem;
    if (!pixels)
      problem = fmt::format("cannot decode '{}': {}", files[i].path, stbi_failure_reason());
    else if (w != W || h != H)
      problem = fmt::format("'{}' is {}x{}, but '{}' is {}x{}: all images must have one size", files[i].path, w, h,
                            files[0].path, W, H);
    else
      std::memcpy(d.images.data<uint8_t>() + i * H * W * 3, pixels, size_t(H) * W * 3);
    stbi_image_free(pixels);
    d.labels.data<int64_t>()[i] = files[i].label;
    if (!problem.empty()) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (error.empty()) error = problem;
    }
  }
  MM_CHECK(error.empty(), "{}", error);
  return d;
}

}  // namespace

DataSplits load_image_folder(const std::string& root, Splits splits) {
  const fs::path train_dir = fs::path(root) / "train";
  MM_CHECK(fs::is_directory(train_dir), "'{}' is not a directory (expected ROOT/train/<class>/<image>)", train_dir.string());
  fs::path test_dir = fs::path(root) / "test";
  if (!fs::is_directory(test_dir)) test_dir = fs::path(root) / "val";
  MM_CHECK(fs::is_directory(test_dir), "'{}' has neither test/ nor val/", root);

  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(train_dir))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  MM_CHECK(!classes.empty(), "'{}' has no class folders", train_dir.string());
  for (const auto& e : fs::directory_iterator(test_dir))
    MM_CHECK(!e.is_directory() || std::find(classes.begin(), classes.end(), e.path().filename().string()) != classes.end(),
             "'{}' is a class that train/ does not have", e.path().string());

  std::vector<ImageFile> train_files = list_split(train_dir, classes);
  for (size_t c = 0; c < classes.size(); ++c)
    MM_CHECK(std::any_of(train_files.begin(), train_files.end(), [&](const ImageFile& f) { return f.label == int64_t(c); }),
             "class folder '{}' is empty", (train_dir / classes[c]).string());
  const int k = static_cast<int>(classes.size());
  DataSplits s{{}, decode_all(list_split(test_dir, classes), k, test_dir.string()), "image folder " + root};
  s.train.num_classes = k;
  if (splits == Splits::TestOnly) return s;
  s.train = decode_all(train_files, k, train_dir.string());
  MM_CHECK(s.train.images.shape() == Shape({s.train.size(), s.test.images.dim(1), s.test.images.dim(2), 3}),
           "train images are {}x{} but test images are {}x{}", s.train.images.dim(2), s.train.images.dim(1),
           s.test.images.dim(2), s.test.images.dim(1));
  return s;
}

}  // namespace mm
