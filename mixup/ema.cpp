#include "mixup/ema.h"

#include "engine/dispatch.h"
#include "engine/ops/optim_kernels.h"

namespace mm {

namespace {
template <class F>
void for_each_pair(Network& a, const Network& b, F f) {
  auto ta = a.named_parameters(), tb = b.named_parameters();
  for (auto& x : a.named_buffers()) ta.push_back(x);
  for (auto& x : b.named_buffers()) tb.push_back(x);
  MM_CHECK(ta.size() == tb.size(), "teacher and student differ in their number of tensors");
  for (size_t k = 0; k < ta.size(); ++k) {
    MM_CHECK(ta[k].name == tb[k].name && ta[k].tensor.shape() == tb[k].tensor.shape(),
             "teacher tensor '{}' does not match student tensor '{}'", ta[k].name, tb[k].name);
    f(ta[k].tensor, tb[k].tensor);
  }
}
}  // namespace

void ema_update(Network& teacher, const Network& student, double beta) {
  for_each_pair(teacher, student, [beta](Tensor& t, const Tensor& s) {
    if (t.dtype() == DType::I64) return t.copy_from(s);
    common_device({&t, &s}, "ema_update");
    kernels::ema_update(t, s, beta);
  });
}

void copy_weights(Network& to, const Network& from) {
  for_each_pair(to, from, [](Tensor& t, const Tensor& s) { t.copy_from(s); });
}

}  // namespace mm
