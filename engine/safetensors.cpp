#include "engine/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "engine/atomic_file.h"
#include "engine/json.h"

namespace mm {

namespace {

DType parse_dtype(const std::string& name, const std::string& path, const std::string& tensor) {
  if (name == "F32") return DType::F32;
  if (name == "F64") return DType::F64;
  if (name == "I64") return DType::I64;
  if (name == "U8") return DType::U8;
  throw Error(fmt::format("{}: tensor '{}' has unsupported dtype {}", path, tensor, name));
}

}  // namespace

const Tensor& TensorFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  MM_CHECK(it != tensors.end(), "{}: no tensor named '{}'", source, name);
  return it->second;
}

TensorFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MM_CHECK(in, "cannot open '{}'", path);
  in.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t header_len = 0;
  MM_CHECK(file_size >= 8 && in.read(reinterpret_cast<char*>(&header_len), 8), "{}: too short for a safetensors file",
           path);
  MM_CHECK(header_len <= file_size - 8, "{}: header length {} exceeds the file size {} (truncated?)", path, header_len,
           file_size);
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  json::Value root;
  try {
    root = json::parse(header);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: malformed header ({})", path, e.what()));
  }
  MM_CHECK(root.is_object(), "{}: header is not a JSON object", path);
  const uint64_t data_size = file_size - 8 - header_len;
  std::vector<char> bytes(data_size);
  in.read(bytes.data(), data_size);
  MM_CHECK(in, "{}: could not read {} bytes of tensor data", path, data_size);

  TensorFile file;
  file.source = path;
  for (const auto& [name, entry] : root.object) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : entry.object) file.metadata[k] = v.string;
      continue;
    }
    try {
      const DType dtype = parse_dtype(entry.at("dtype").string, path, name);
      // JSON numbers are doubles: a size must be a whole number a double holds exactly (<= 2^53)
      auto size_of = [](const json::Value& v, const char* what) {
        MM_CHECK(v.number >= 0 && v.number <= 9007199254740992.0 && v.number == std::floor(v.number),
                 "{} {} is not a whole number in [0, 2^53]", what, v.number);
        return static_cast<int64_t>(v.number);
      };
      Shape shape;
      for (const auto& d : entry.at("shape").array) shape.push_back(size_of(d, "dimension"));
      const auto& offsets = entry.at("data_offsets").array;
      MM_CHECK(offsets.size() == 2, "data_offsets must have two entries");
      const uint64_t begin = static_cast<uint64_t>(size_of(offsets[0], "offset")),
                     end = static_cast<uint64_t>(size_of(offsets[1], "offset"));
      int64_t nbytes = 0;
      MM_CHECK(!__builtin_mul_overflow(shape_numel(shape), static_cast<int64_t>(dtype_size(dtype)), &nbytes),
               "shape {} is too large", shape_str(shape));
      MM_CHECK(begin <= end && end <= data_size && end - begin == static_cast<uint64_t>(nbytes),
               "data [{}, {}) does not hold {} {} within {} bytes of data (truncated?)", begin, end,
               dtype_name(dtype), shape_str(shape), data_size);
      Tensor t = Tensor::empty(shape, dtype);
      if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + begin, t.nbytes());
      file.tensors[name] = t;
    } catch (const Error& e) {
      if (std::string(e.what()).rfind(path, 0) == 0) throw;
      throw Error(fmt::format("{}: tensor '{}': {}", path, name, e.what()));
    }
  }
  return file;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  uint64_t offset = 0;
  std::vector<Tensor> host;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  for (const auto& [name, t] : tensors) {
    MM_CHECK(t.defined(), "save_safetensors: tensor '{}' is undefined", name);
    host.push_back(t.to(cpu()));
    std::string shape;
    for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape()[i]);
    header += fmt::format("{}{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", header.size() > 1 ? "," : "",
                          json::quote(name), dtype_name(t.dtype()), shape, offset, offset + t.nbytes());
    offset += t.nbytes();
  }
  header += "}";
  while (header.size() % 8) header += ' ';  // keeps the data 8-byte aligned, as the format recommends

  write_atomically(path, [&](FILE* f) {
    const uint64_t header_len = header.size();
    bool ok = std::fwrite(&header_len, 8, 1, f) == 1 && std::fwrite(header.data(), 1, header.size(), f) == header.size();
    for (const Tensor& t : host) ok = ok && std::fwrite(t.raw(), 1, t.nbytes(), f) == t.nbytes();
    return ok;
  });
}

}  // namespace mm
