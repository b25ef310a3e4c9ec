#pragma once
// safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {..}},
// then the raw little-endian tensor bytes. Used for weights, checkpoints, probe batches and outputs.
// Tensors are stored exactly as given (callers convert layouts, e.g. NHWC <-> NCHW).
#include <map>
#include <string>

#include "engine/tensor.h"

namespace mm {

struct TensorFile {
  std::map<std::string, Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;

  bool has(const std::string& name) const { return tensors.count(name) > 0; }
  // The tensor, or an error naming the file and the missing tensor.
  const Tensor& at(const std::string& name) const;
  std::string source;  // the path it was read from, for error messages
};

// Reads a whole file. Throws mm::Error naming the file on a missing file, a truncated or malformed
// header, an unsupported dtype, or offsets that do not fit the file.
TensorFile load_safetensors(const std::string& path);

// Writes atomically: to path + ".tmp", fsync, then rename over path, so an interrupted write never
// destroys an existing file. Tensors may live on any device.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace mm
