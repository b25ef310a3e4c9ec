// Image-folder datasets decoded with stb_image (docs/math.md §2): root/{train,test|val}/<class>/<image>.
#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
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

// Two ways a JPEG's Huffman tables lead Debian 12's stb_image (2.27) astray, both found by
// fuzz/fuzz_image_folder, so a JPEG's tables are checked here before stb reads the file:
// - a DHT segment that declares more than 256 codes in one table: stb wrote past its 257-entry
//   code-size list (upstream 2.28 refuses such tables);
// - a scan that uses a table no DHT segment defined: stb decodes with the uninitialised table, and
//   the symbol index it computes can point anywhere (UBSan caught a shift by -66 in its consistency
//   check; upstream 2.28 bounds the index).
// Walks the marker segments (and the entropy-coded data between them); "" when every table is possible.
std::string jpeg_huffman_problem(const std::vector<uint8_t>& b) {
  bool defined[2][4] = {};   // [DC 0 / AC 1][table id 0..3], by the DHT segments read so far
  bool progressive = false;  // SOF2: a DC refinement scan uses no table, a DC scan no AC table
  // stb takes any number of 0xFF fill bytes before a marker, the first one (SOI, 0xD8) included
  size_t p = 0;
  while (p < b.size() && b[p] == 0xFF) ++p;
  if (p == 0 || p >= b.size() || b[p] != 0xD8) return "";  // not a JPEG
  ++p;
  while (p + 4 <= b.size()) {
    if (b[p] != 0xFF) {  // entropy-coded data of a scan
      ++p;
      continue;
    }
    const uint8_t marker = b[p + 1];
    if (marker == 0xFF) {  // a fill byte
      ++p;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length follows
      p += 2;
      continue;
    }
    if (marker == 0xD9) break;  // end of image
    const size_t length = (size_t(b[p + 2]) << 8) | b[p + 3];
    if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) progressive = marker == 0xC2;  // the frames stb reads
    if (marker == 0xC4)  // DHT: tables of (class/id, 16 code counts, the codes' values)
      for (size_t q = p + 4; q < p + 2 + length;) {  // as stb reads it: a table while the length lasts,
        size_t codes = 0;                            // and zeros past the end of the file
        for (size_t i = q + 1; i <= q + 16 && i < b.size(); ++i) codes += b[i];
        if (codes > 256) return fmt::format("a JPEG Huffman table declares {} codes (at most 256 exist)", codes);
        const int table_class = q < b.size() ? b[q] >> 4 : 0, id = q < b.size() ? b[q] & 15 : 0;
        if (table_class <= 1 && id <= 3) defined[table_class][id] = true;  // stb refuses the others
        q += 17 + codes;
      }
    if (marker == 0xDA && p + 5 <= b.size()) {  // SOS: Ns, then (component, DC table << 4 | AC table) each, Ss, Se, Ah|Al
      const size_t ns = b[p + 4], tail = p + 5 + 2 * ns;
      if (tail + 3 <= b.size()) {  // a truncated header stb refuses itself
        const bool dc_scan = b[tail] == 0, refinement = (b[tail + 2] >> 4) != 0;
        const bool uses_dc = !progressive || (dc_scan && !refinement), uses_ac = !progressive || !dc_scan;
        for (size_t i = 0; i < ns; ++i) {
          const int dc = b[p + 6 + 2 * i] >> 4, ac = b[p + 6 + 2 * i] & 15;
          if (uses_dc && dc <= 3 && !defined[0][dc])
            return fmt::format("a JPEG scan uses Huffman table DC {}, which no DHT segment before it defines", dc);
          if (uses_ac && ac <= 3 && !defined[1][ac])
            return fmt::format("a JPEG scan uses Huffman table AC {}, which no DHT segment before it defines", ac);
        }
      }
    }
    p += 2 + std::max<size_t>(length, 2);
  }
  return "";
}

// Debian 12's stb_image reserves a PNG chunk's declared length before reading it, so a 75-byte file
// whose IDAT claims 1.6 GB had it allocate that much (found by fuzz/fuzz_image_folder). So a PNG's
// chunks are checked first: each one's data must lie within the file. "" when they do, or when the
// bytes are not a PNG.
std::string png_chunk_problem(const std::vector<uint8_t>& b) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() < 8 || !std::equal(signature, signature + 8, b.begin())) return "";
  for (size_t p = 8; p + 8 <= b.size();) {  // length (4 bytes, big-endian), type (4), data, CRC (4)
    const size_t length = (size_t(b[p]) << 24) | (size_t(b[p + 1]) << 16) | (size_t(b[p + 2]) << 8) | b[p + 3];
    const std::string type(b.begin() + p + 4, b.begin() + p + 8);
    if (length > b.size() - p - 8)
      return fmt::format("a PNG chunk ({}) claims {} bytes, but the file has {} left", type, length, b.size() - p - 8);
    if (type == "IEND") break;
    p += 12 + length;
  }
  return "";
}

// Debian 12's stb_image (2.27) mishandles two kinds of PNM header, both found by fuzz/fuzz_image_folder:
// - it reads the numbers (width, height, largest value) into an int with no check for overflow,
//   which is undefined behaviour (a width of 44 threes; upstream 2.28 refuses such numbers);
// - 16-bit images (largest value above 255): a PGM asked for as RGB goes through its 8-bit channel
//   conversion, and the 16-bit step after it reads past the converted pixels (AddressSanitizer: a
//   heap-buffer-overflow); and it takes the big-endian samples of both PGM and PPM as little-endian,
//   so their 8-bit pixels would be the low bytes: silently wrong.
// So the header is read here first, the way stb reads it. "" when it is fine, or when the bytes are
// not a binary PGM or PPM (P5, P6: what stb reads).
std::string pnm_header_problem(const std::vector<uint8_t>& b) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return "";
  auto is_space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t p = 2;
  int64_t value = 0;  // the last number read: the largest value
  for (const char* what : {"width", "height", "largest value"}) {
    for (;;) {  // white space, and comments from '#' to the end of the line
      while (p < b.size() && is_space(b[p])) ++p;
      if (p >= b.size() || b[p] != '#') break;
      while (p < b.size() && b[p] != '\n' && b[p] != '\r') ++p;
    }
    for (value = 0; p < b.size() && b[p] >= '0' && b[p] <= '9'; ++p) {
      value = value * 10 + (b[p] - '0');
      if (value > std::numeric_limits<int>::max())
        return fmt::format("a PNM header's {} has more digits than an int holds", what);
    }
  }
  if (value > 255)
    return fmt::format("16-bit PGM and PPM images (largest value {}) are not supported: stb_image 2.27 misreads them", value);
  return "";
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Images are refused beyond max_pixels (data/dataset.h), before stb allocates for them: a dataset
// image is small (CIFAR 32 x 32, ImageNet copies a few hundred pixels a side), while a header may
// claim anything. A 200-byte TGA that claimed 65 496 x 224 kept the sanitizer build busy for 14 s,
// a GIF that claimed 60 000 x 60 000 for minutes (both found by fuzz/fuzz_image_folder).

// The decoded RGB pixels of one file (stbi_image_free them), or nullptr with `problem` set.
uint8_t* decode(const std::string& path, int64_t max_pixels, int& w, int& h, std::string& problem) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  problem = jpeg_huffman_problem(bytes);
  if (problem.empty()) problem = png_chunk_problem(bytes);
  if (problem.empty()) problem = pnm_header_problem(bytes);
  int channels = 0;
  // stb's header reader: what it cannot read, its decoder is not given; and it reports a top-down
  // BMP's height as negative (found by fuzzing: -15 859 709 rows slipped past a signed bound)
  if (problem.empty() && !stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels))
    problem = stbi_failure_reason();
  if (problem.empty() && std::abs(int64_t(w)) * std::abs(int64_t(h)) > max_pixels)
    problem = fmt::format("{}x{} pixels, more than the {} an image may have here", std::abs(w), std::abs(h), max_pixels);
  uint8_t* pixels = problem.empty() ? stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels, 3)
                                    : nullptr;
  if (!pixels && problem.empty()) problem = stbi_failure_reason();
  if (!problem.empty()) problem = fmt::format("cannot decode '{}': {}", path, problem);
  return pixels;
}

// Decodes every file in parallel into one U8 [N, H, W, 3] tensor. The first image fixes H and W.
Dataset decode_all(const std::vector<ImageFile>& files, int num_classes, const std::string& split_dir, int64_t max_pixels) {
  MM_CHECK(!files.empty(), "'{}' holds no images", split_dir);
  int H = 0, W = 0;
  std::string error;
  uint8_t* first = decode(files[0].path, max_pixels, W, H, error);
  MM_CHECK(first, "{}", error);
  const int64_t n = static_cast<int64_t>(files.size());
  Dataset d;
  d.images = Tensor::empty({n, H, W, 3}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I64);
  d.num_classes = num_classes;
  std::memcpy(d.images.data<uint8_t>(), first, size_t(H) * W * 3);
  stbi_image_free(first);
  d.labels.data<int64_t>()[0] = files[0].label;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 1; i < n; ++i) {
    int w = 0, h = 0;
    std::string problem;
    uint8_t* pixels = decode(files[i].path, max_pixels, w, h, problem);
    if (pixels && (w != W || h != H))
      problem = fmt::format("'{}' is {}x{}, but '{}' is {}x{}: all images must have one size", files[i].path, w, h,
                            files[0].path, W, H);
    else if (pixels)
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

DataSplits load_image_folder(const std::string& root, Splits splits, int64_t max_pixels) {
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
  DataSplits s{{}, decode_all(list_split(test_dir, classes), k, test_dir.string(), max_pixels), "image folder " + root};
  s.train.num_classes = k;
  if (splits == Splits::TestOnly) return s;
  s.train = decode_all(train_files, k, train_dir.string(), max_pixels);
  MM_CHECK(s.train.images.shape() == Shape({s.train.size(), s.test.images.dim(1), s.test.images.dim(2), 3}),
           "train images are {}x{} but test images are {}x{}", s.train.images.dim(2), s.train.images.dim(1),
           s.test.images.dim(2), s.test.images.dim(1));
  return s;
}

}  // namespace mm
