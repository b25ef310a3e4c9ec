// Any bytes as a safetensors file (8-byte header length, JSON header, data) and as JSON text: the
// checkpoint and weights readers of train_cifar, evaluate and probe.
#include "engine/json.h"
#include "engine/safetensors.h"
#include "fuzz/scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mm::fuzz::scratch_dir() + "/input.safetensors";
  mm::fuzz::write_file(path, data, size);
  try {
    const mm::TensorFile file = mm::load_safetensors(path);
    for (const auto& [name, t] : file.tensors) (void)t.nbytes();
  } catch (const mm::Error&) {
  }
  try {
    mm::json::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const mm::Error&) {
  }
  return 0;
}
