#include "layers/state_dict.h"

#include <cmath>
#include <set>

namespace mm {

std::map<std::string, Tensor> state_dict(const Module& module) {
  std::map<std::string, Tensor> out;
  for (const auto& nt : module.named_parameters()) out[nt.name] = to_file_layout(nt.tensor, nt.layout);
  for (const auto& nt : module.named_buffers()) out[nt.name] = nt.tensor;
  return out;
}

void load_state_dict(Module& module, const TensorFile& file, const std::string& prefix) {
  std::vector<NamedTensor> all = module.named_parameters();
  for (auto& b : module.named_buffers()) all.push_back(b);
  std::set<std::string> used;
  for (NamedTensor& nt : all) {
    const std::string key = prefix + nt.name;
    MM_CHECK(file.has(key), "{}: missing tensor '{}' (a file of another model?)", file.source, key);
    const Tensor expected = to_file_layout(nt.tensor, nt.layout);
    // a float64 file (a --dtype float64 run) loads into a float32 model rounded, and the other way
    const auto floating = [](DType d) { return d == DType::F32 || d == DType::F64; };
    const Tensor src = floating(file.at(key).dtype()) && floating(expected.dtype()) ? file.at(key).to(expected.dtype())
                                                                                  : file.at(key);
    MM_CHECK(src.shape() == expected.shape() && src.dtype() == expected.dtype(),
             "{}: tensor '{}' is {} {}, the model expects {} {} (another model or width?)", file.source, key,
             dtype_name(src.dtype()), shape_str(src.shape()), dtype_name(expected.dtype()), shape_str(expected.shape()));
    if (src.dtype() == DType::F32 || src.dtype() == DType::F64)
      for (double v : src.to_doubles())
        MM_CHECK(std::isfinite(v), "{}: tensor '{}' holds {} (a diverged run?)", file.source, key, v);
    nt.tensor.copy_from(from_file_layout(src, nt.layout));
    used.insert(key);
  }
  for (const auto& [name, t] : file.tensors)
    MM_CHECK(name.rfind(prefix, 0) != 0 || used.count(name), "{}: tensor '{}' does not belong to the model",
             file.source, name);
}

}  // namespace mm
