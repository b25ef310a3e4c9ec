#include "engine/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/allocator.h"

namespace mm {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    MM_CHECK(!__builtin_mul_overflow(n, d, &n), "shape {} has more elements than an int64 counts", shape_str(s));
  return n;
}

Storage::Storage(size_t nbytes, Device dev, bool want_pinned) : bytes(nbytes), device(dev) {
  if (want_pinned && dev.is_cpu()) data = allocate_pinned(nbytes);
  pinned = data != nullptr;
  if (!pinned) data = allocate(nbytes, dev);
}
Storage::~Storage() {
  if (pinned) deallocate_pinned(data, bytes);
  else deallocate(data, bytes, device);
}

namespace {
Tensor new_tensor(const Shape& shape, DType dtype, Device device, bool pinned) {
  for (int64_t d : shape) MM_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  int64_t bytes = 0;
  MM_CHECK(!__builtin_mul_overflow(shape_numel(shape), static_cast<int64_t>(dtype_size(dtype)), &bytes),
           "a tensor of shape {} would need more bytes than an int64 counts", shape_str(shape));
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(bytes), device, pinned);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(impl);
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return new_tensor(shape, dtype, device, false); }
Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) { return new_tensor(shape, dtype, cpu(), true); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(0.0);
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  MM_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: {} values for shape {}",
           values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor Tensor::from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

const Shape& Tensor::shape() const {
  MM_CHECK(impl_, "use of an undefined tensor");
  return impl_->shape;
}
int64_t Tensor::dim(int i) const {
  const int n = ndim();
  if (i < 0) i += n;
  MM_CHECK(i >= 0 && i < n, "dimension {} out of range for shape {}", i, shape_str(shape()));
  return shape()[i];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const {
  MM_CHECK(impl_, "use of an undefined tensor");
  return impl_->dtype;
}
Device Tensor::device() const {
  MM_CHECK(impl_, "use of an undefined tensor");
  return impl_->storage->device;
}

void* Tensor::raw() { return static_cast<char*>(impl_->storage->data) + impl_->offset; }
const void* Tensor::raw() const { return static_cast<const char*>(impl_->storage->data) + impl_->offset; }

template <class T> T* Tensor::data() {
  MM_CHECK(impl_, "data() of an undefined tensor");
  MM_CHECK(dtype() == dtype_of<T>(), "tensor is {}, accessed as {}", dtype_name(dtype()), dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw());
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template int64_t* Tensor::data<int64_t>();
template uint8_t* Tensor::data<uint8_t>();
template bf16* Tensor::data<bf16>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const int64_t* Tensor::data<int64_t>() const;
template const uint8_t* Tensor::data<uint8_t>() const;
template const bf16* Tensor::data<bf16>() const;

std::vector<double> Tensor::to_doubles() const {
  Tensor host = to(cpu());
  std::vector<double> out(numel());
  for (int64_t i = 0; i < numel(); ++i) {
    switch (dtype()) {
      case DType::F32: out[i] = host.data<float>()[i]; break;
      case DType::F64: out[i] = host.data<double>()[i]; break;
      case DType::I64: out[i] = static_cast<double>(host.data<int64_t>()[i]); break;
      case DType::U8: out[i] = host.data<uint8_t>()[i]; break;
      case DType::BF16: out[i] = float(host.data<bf16>()[i]); break;
    }
  }
  return out;
}

double Tensor::item() const {
  MM_CHECK(numel() == 1, "item() of a tensor of shape {}", shape_str(shape()));
  return to_doubles()[0];
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  Tensor t = empty(shape(), dtype(), dev);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(DType to_type) const {
  if (to_type == dtype()) return *this;
  MM_CHECK(device().is_cpu(), "dtype conversion is implemented on the CPU only (on a GPU: mm::cast)");
  Tensor t = empty(shape(), to_type, device());
  if (dtype() == DType::F32 && to_type == DType::BF16) {  // the CPU's bfloat16 kernels widen and round often
    std::transform(data<float>(), data<float>() + numel(), t.data<bf16>(), [](float v) { return bf16(v); });
    return t;
  }
  if (dtype() == DType::BF16 && to_type == DType::F32) {
    std::transform(data<bf16>(), data<bf16>() + numel(), t.data<float>(), [](bf16 v) { return float(v); });
    return t;
  }
  std::vector<double> v = to_doubles();
  for (int64_t i = 0; i < numel(); ++i) {
    switch (to_type) {
      case DType::F32: t.data<float>()[i] = static_cast<float>(v[i]); break;
      case DType::F64: t.data<double>()[i] = v[i]; break;
      case DType::I64: t.data<int64_t>()[i] = static_cast<int64_t>(v[i]); break;
      case DType::U8: t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]); break;
      case DType::BF16: t.data<bf16>()[i] = bf16(static_cast<float>(v[i])); break;
    }
  }
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  MM_CHECK(src.numel() == numel() && src.dtype() == dtype(), "copy_from: {} {} into {} {}",
           dtype_name(src.dtype()), shape_str(src.shape()), dtype_name(dtype()), shape_str(shape()));
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes());
}

void Tensor::move_to(Device dev) {
  if (dev == device()) return;
  Tensor moved = to(dev);
  impl_->storage = moved.impl_->storage;
  impl_->offset = 0;
  impl_->grad.reset();
}

void Tensor::convert_to(DType to_type) {
  if (to_type == dtype()) return;
  Tensor converted = to(to_type);
  impl_->storage = converted.impl_->storage;
  impl_->offset = 0;
  impl_->dtype = to_type;
  impl_->grad.reset();
}

void Tensor::fill(double value) {
  if (device().is_cuda()) {
    fill_device(raw(), dtype(), numel(), value);
    return;
  }
  const int64_t n = numel();
  switch (dtype()) {
    case DType::F32: std::fill_n(data<float>(), n, static_cast<float>(value)); break;
    case DType::F64: std::fill_n(data<double>(), n, value); break;
    case DType::I64: std::fill_n(data<int64_t>(), n, static_cast<int64_t>(value)); break;
    case DType::U8: std::fill_n(data<uint8_t>(), n, static_cast<uint8_t>(value)); break;
    case DType::BF16: std::fill_n(data<bf16>(), n, bf16(static_cast<float>(value))); break;
  }
}

Tensor Tensor::view(const Shape& new_shape) const {
  MM_CHECK(shape_numel(new_shape) == numel(), "cannot view {} as {}", shape_str(shape()), shape_str(new_shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = new_shape;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  MM_CHECK(ndim() >= 1 && 0 <= begin && begin <= end && end <= dim(0), "slice_rows [{}, {}) of {}", begin, end,
           shape_str(shape()));
  const int64_t row = numel() / std::max<int64_t>(dim(0), 1);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset + begin * row * dtype_size(dtype());
  impl->shape = shape();
  impl->shape[0] = end - begin;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
Tensor& Tensor::set_requires_grad(bool on) {
  MM_CHECK(dtype() == DType::F32 || dtype() == DType::F64 || dtype() == DType::BF16, "only floating tensors can require grad");
  impl_->requires_grad = on;
  return *this;
}
Tensor Tensor::grad() const { return impl_->grad ? *impl_->grad : Tensor(); }
Tensor& Tensor::grad_ref() const {
  if (!impl_->grad) impl_->grad = std::make_unique<Tensor>(zeros(shape(), dtype(), device()));
  return *impl_->grad;
}
Tensor::GradientToWrite Tensor::grad_to_write() const {
  const bool accumulate = impl_->grad != nullptr;
  if (!accumulate) impl_->grad = std::make_unique<Tensor>(empty(shape(), dtype(), device()));
  return {*impl_->grad, accumulate};
}
void Tensor::zero_grad() { impl_->grad.reset(); }
bool Tensor::is_leaf() const { return impl_->is_leaf; }
bool Tensor::same_storage(const Tensor& o) const { return impl_->storage == o.impl_->storage; }

void check_shape(const Tensor& t, const Shape& shape, const char* what) {
  MM_CHECK(t.defined(), "{}: tensor is undefined", what);
  MM_CHECK(t.shape() == shape, "{}: expected shape {}, got {}", what, shape_str(shape), shape_str(t.shape()));
}
void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  MM_CHECK(a.shape() == b.shape(), "{}: shapes {} and {} differ", op, shape_str(a.shape()), shape_str(b.shape()));
  MM_CHECK(a.dtype() == b.dtype(), "{}: dtypes {} and {} differ", op, dtype_name(a.dtype()), dtype_name(b.dtype()));
  MM_CHECK(a.device() == b.device(), "{}: devices {} and {} differ", op, a.device().str(), b.device().str());
}

}  // namespace mm
