#pragma once
// Module: a named tree of parameters, buffers and child modules, as in PyTorch, so that names
// like "encoder.layer1.0.bn1.weight" come out of the structure itself.
//
// Tensors are handles: the module owns them and the optimiser updates them in place.
// Each tensor also records how it is laid out in files (checkpoints use PyTorch's layouts):
// convolution weights are [Cout, kh, kw, Cin] here and [Cout, Cin, kh, kw] in files.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mm {

enum class FileLayout { Same, ConvWeight };

struct NamedTensor {
  std::string name;  // full dotted name
  Tensor tensor;
  FileLayout layout;
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  std::vector<NamedTensor> named_parameters() const;  // trainable, in registration order
  std::vector<NamedTensor> named_buffers() const;     // BN running statistics and counters
  std::vector<Tensor> parameters() const;

  // Training mode (batch statistics in BN) or evaluation mode; applies to the whole tree.
  void train(bool on = true);
  bool is_training() const { return training_; }
  // When off, training-mode batch norm still normalises with batch statistics but leaves the
  // running statistics alone (the EMA teacher, whose buffers follow the student's; docs/math.md §3).
  void update_running_stats(bool on);
  // Moves every parameter and buffer to `device` (in place: existing handles follow).
  void to(Device device);
  // Converts every floating parameter and buffer to `dtype` (F32 or F64; F64 runs on the CPU only:
  // probe --dtype float64 and the float64 fixture tests). Integer buffers stay as they are.
  void to(DType dtype);
  bool updates_running_stats() const { return update_running_stats_; }

 protected:
  Tensor register_parameter(const std::string& name, Tensor t, FileLayout layout = FileLayout::Same);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  M& register_module(const std::string& name, std::unique_ptr<M> child) {
    M& ref = *child;
    children_.push_back({name, std::move(child)});
    return ref;
  }

 private:
  void collect(const std::string& prefix, bool parameters, std::vector<NamedTensor>& out) const;
  std::vector<NamedTensor> parameters_, buffers_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  bool training_ = true;
  bool update_running_stats_ = true;
};

// Conversions between the internal layout and the file (PyTorch) layout of one tensor.
// ConvWeight: [Cout, kh, kw, Cin] <-> [Cout, Cin, kh, kw].
Tensor to_file_layout(const Tensor& t, FileLayout layout);
Tensor from_file_layout(const Tensor& t, FileLayout layout);
// NCHW images (as PyTorch holds them) <-> NHWC, for any [N, A, B, C] tensor.
Tensor nchw_to_nhwc(const Tensor& t);
Tensor nhwc_to_nchw(const Tensor& t);

}  // namespace mm
