#pragma once
// Tensor: a shape, a dtype and a shared, contiguous block of memory on one device.
// Activations are NHWC ("channels last") float32: [N, H, W, C]. Copies of a Tensor share
// storage (it is a handle); views exist only where they are free (reshape, leading-dim slices).
// A tensor that requires grad gets its gradient (same shape, same device) in grad().
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"

namespace mm {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// One allocation. Frees itself through the allocator of its device.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  bool pinned = false;  // page-locked host memory (engine/allocator.h)
  // pinned: host memory that is page-locked when a GPU is there (ordinary memory otherwise).
  Storage(size_t bytes, Device device, bool pinned = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised memory. Requires: every dimension >= 0.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = cpu());
  // Host memory that is page-locked when a GPU is there: its copies to the GPU do not wait (so it
  // must not be written again while a copy from it may be queued; freeing it is safe).
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = cpu());
  // Copies host values into a new CPU tensor.
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  // A scalar (shape []) tensor.
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int i) const;  // negative i counts from the end
  int ndim() const { return static_cast<int>(shape().size()); }
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return numel() * dtype_size(dtype()); }

  // Typed pointers. Throw when T does not match the dtype.
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw();
  const void* raw() const;

  // Values as double on the host (copies from the device when needed). For tests and logging.
  std::vector<double> to_doubles() const;
  double item() const;  // requires numel() == 1

  // New tensor with its own copy of the data.
  Tensor clone() const;
  Tensor to(Device device) const;  // shares when already there
  Tensor to(DType dtype) const;    // converts on the tensor's device (CPU only for now)
  // Copies src's values into this tensor. Requires the same numel and dtype; devices may differ.
  void copy_from(const Tensor& src);
  // Moves this tensor's data to `device` in place: every handle to it sees the new storage (how a
  // module's parameters move to the GPU). Drops the gradient. Requires a tensor that is not a view.
  void move_to(Device device);
  // Converts this tensor's data to `dtype` in place, like move_to (how a module becomes float64).
  void convert_to(DType dtype);
  void fill(double value);

  // Free views (no autograd; see ops.h for differentiable reshape).
  Tensor view(const Shape& shape) const;         // same numel, shares storage
  Tensor slice_rows(int64_t begin, int64_t end) const;  // leading dimension [begin, end)

  // Autograd state.
  bool requires_grad() const;
  // Marks a leaf (parameter or input) whose gradient backward() should compute.
  Tensor& set_requires_grad(bool on = true);
  // The gradient, or an undefined Tensor when none was computed.
  Tensor grad() const;
  // The gradient, allocated as zeros when absent. Backward functions accumulate into it.
  Tensor& grad_ref() const;  // const: a Tensor is a handle; the gradient lives with the data
  // The gradient for a backward function to write, and how (GradientToWrite below): when absent
  // it is allocated uninitialised and the backward assigns every element (no zero fill, no read of
  // zeros); otherwise it adds to what earlier backwards put there.
  struct GradientToWrite;
  GradientToWrite grad_to_write() const;
  void zero_grad();  // drops the gradient
  bool is_leaf() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same_storage(const Tensor& o) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct Tensor::GradientToWrite {
  Tensor& tensor;
  bool accumulate;  // false: a new, uninitialised gradient, to be assigned
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  bool is_leaf = true;  // false for results of recorded ops
  // A recorded result whose tape entry is gone (backward() or clear_tape() ran): no gradient can
  // flow through it any more, so using it in a new graph is an error (engine/autograd.h).
  bool graph_released = false;
  std::unique_ptr<Tensor> grad;
};

// Throws unless the tensor has exactly this shape; `what` names it in the message.
void check_shape(const Tensor& t, const Shape& shape, const char* what);
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);

}  // namespace mm
