#include "layers/module.h"

#include "engine/dispatch.h"

namespace mm {

Tensor Module::register_parameter(const std::string& name, Tensor t, FileLayout layout) {
  t.set_requires_grad(true);
  parameters_.push_back({name, t, layout});
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.push_back({name, t, FileLayout::Same});
  return t;
}

void Module::collect(const std::string& prefix, bool parameters, std::vector<NamedTensor>& out) const {
  for (const auto& nt : parameters ? parameters_ : buffers_) out.push_back({prefix + nt.name, nt.tensor, nt.layout});
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", parameters, out);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  collect("", true, out);
  return out;
}

std::vector<NamedTensor> Module::named_buffers() const {
  std::vector<NamedTensor> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& nt : named_parameters()) out.push_back(nt.tensor);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  for (auto& nt : named_parameters()) nt.tensor.move_to(device);
  for (auto& nt : named_buffers()) nt.tensor.move_to(device);
}

void Module::to(DType dtype) {
  MM_CHECK(dtype == DType::F32 || dtype == DType::F64, "a module's tensors are F32 or F64, not {}", dtype_name(dtype));
  for (auto& nt : named_parameters()) nt.tensor.convert_to(dtype);
  for (auto& nt : named_buffers())
    if (nt.tensor.dtype() == DType::F32 || nt.tensor.dtype() == DType::F64) nt.tensor.convert_to(dtype);
}

void Module::update_running_stats(bool on) {
  update_running_stats_ = on;
  for (auto& [name, child] : children_) child->update_running_stats(on);
}

namespace {
// out[a, c, b] = in[a, b, c] for in viewed as [A, B, C] (a batched transpose of the last two axes).
Tensor swap_last_two(const Tensor& in, int64_t A, int64_t B, int64_t C, const Shape& out_shape) {
  Tensor host = in.to(cpu());
  Tensor out = Tensor::empty(out_shape, in.dtype());
  const size_t es = dtype_size(in.dtype());
  const char* src = static_cast<const char*>(host.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c)
        std::memcpy(dst + ((a * C + c) * B + b) * es, src + ((a * B + b) * C + c) * es, es);
  return out.to(in.device());
}
}  // namespace

Tensor nchw_to_nhwc(const Tensor& t) {
  MM_CHECK(t.ndim() == 4, "nchw_to_nhwc: expected 4 dimensions, got {}", shape_str(t.shape()));
  const int64_t N = t.dim(0), C = t.dim(1), H = t.dim(2), W = t.dim(3);
  return swap_last_two(t, N, C, H * W, {N, H, W, C});
}

Tensor nhwc_to_nchw(const Tensor& t) {
  MM_CHECK(t.ndim() == 4, "nhwc_to_nchw: expected 4 dimensions, got {}", shape_str(t.shape()));
  const int64_t N = t.dim(0), H = t.dim(1), W = t.dim(2), C = t.dim(3);
  return swap_last_two(t, N, H * W, C, {N, C, H, W});
}

// A conv weight [Cout, Cin, kh, kw] is an NCHW "image" per output channel, and [Cout, kh, kw, Cin] its NHWC twin.
Tensor to_file_layout(const Tensor& t, FileLayout layout) {
  return layout == FileLayout::ConvWeight ? nhwc_to_nchw(t) : t;
}
Tensor from_file_layout(const Tensor& t, FileLayout layout) {
  return layout == FileLayout::ConvWeight ? nchw_to_nhwc(t) : t;
}

}  // namespace mm
