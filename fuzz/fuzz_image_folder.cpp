// Any bytes as the one image of an image folder's train and test splits: stb_image's decoders (PNG,
// JPEG, BMP, GIF, ...) behind load_image_folder, and the size checks after them.
#include "data/dataset.h"
#include "fuzz/scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string root = mm::fuzz::scratch_dir() + "/folder";
  mm::fuzz::write_file(root + "/train/a/image.png", data, size);
  mm::fuzz::write_file(root + "/test/a/image.png", data, size);
  try {
    // 256 x 256 at most: what is explored is the parsing, and a legal 2048 x 2048 image takes
    // about a second to decode under the sanitizers (the bound itself: ImageFolder tests)
    mm::load_image_folder(root, mm::Splits::TrainAndTest, int64_t(1) << 16);
  } catch (const mm::Error&) {
  }
  return 0;
}
