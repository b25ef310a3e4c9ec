#include "mixup/dense.h"

#include "engine/dispatch.h"
#include "mixup/dense_kernels.h"

namespace mm {

Attention parse_attention(const std::string& name) {
  if (name == "gap-relu") return Attention::GapRelu;
  if (name == "gap-softmax") return Attention::GapSoftmax;
  if (name == "cam-relu") return Attention::CamRelu;
  if (name == "cam-softmax") return Attention::CamSoftmax;
  if (name == "uniform") return Attention::Uniform;
  throw Error(fmt::format("unknown attention '{}' (gap-relu, gap-softmax, cam-relu, cam-softmax, uniform)", name));
}

namespace {
// The checked arguments of the attention: whether it is CAM (then classifier_weight and labels are
// used, the labels on z's device) and the normalisation over positions.
struct AttentionArgs {
  Tensor classifier_weight, labels;  // undefined for GAP and uniform attention
  AttentionNorm norm;
};
AttentionArgs attention_args(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind) {
  MM_CHECK(z.ndim() == 3, "dense_attention: z must be [m, r, d], got {}", shape_str(z.shape()));
  const int64_t m = z.dim(0), d = z.dim(2);
  const Device device = common_device({&z}, "dense_attention");
  const bool cam = kind == Attention::CamRelu || kind == Attention::CamSoftmax;
  if (cam) {
    MM_CHECK(classifier_weight.ndim() == 2 && classifier_weight.dim(1) == d, "dense_attention: classifier weight {} does not fit d = {}",
             shape_str(classifier_weight.shape()), d);
    check_shape(labels, {m}, "dense_attention labels");
  }
  const AttentionNorm norm = kind == Attention::Uniform                                          ? AttentionNorm::Uniform
                             : (kind == Attention::GapSoftmax || kind == Attention::CamSoftmax) ? AttentionNorm::Softmax
                                                                                                : AttentionNorm::Relu;
  return {cam ? classifier_weight : Tensor(), cam ? labels.to(device) : Tensor(), norm};
}

// Room for the weights that Lambda [r, m, n] gives: Mtilde [r, m, n], s [r, n].
DenseWeights empty_weights(const Tensor& lambda, const Device& device) {
  return {Tensor::empty(lambda.shape(), lambda.dtype(), device), Tensor::empty({lambda.dim(0), lambda.dim(2)}, lambda.dtype(), device)};
}

// Lambda [r, m, n] must fit attention [m, r] and share its dtype.
void check_weights_args(int64_t m, int64_t r, const Tensor& lambda, DType dtype) {
  MM_CHECK(lambda.ndim() == 3 && lambda.dim(0) == r && lambda.dim(1) == m,
           "dense_weights: attention [m = {}, r = {}] and lambda {} ([r, m, n]) do not fit", m, r, shape_str(lambda.shape()));
  MM_CHECK(lambda.dtype() == dtype, "dense_weights: dtypes differ");
}
}  // namespace

Tensor dense_attention(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind) {
  const AttentionArgs args = attention_args(z, labels, classifier_weight, kind);
  Tensor a = Tensor::empty({z.dim(0), z.dim(1)}, z.dtype(), z.device());
  kernels::dense_attention(z, args.classifier_weight, args.labels, args.norm, a);
  return a;
}

DenseWeights dense_weights(const Tensor& attention, const Tensor& lambda) {
  MM_CHECK(attention.ndim() == 2, "dense_weights: attention must be [m, r], got {}", shape_str(attention.shape()));
  check_weights_args(attention.dim(0), attention.dim(1), lambda, attention.dtype());
  const Device device = common_device({&attention, &lambda}, "dense_weights");
  DenseWeights w = empty_weights(lambda, device);
  kernels::dense_weights(attention, lambda, w.mtilde, w.s);
  return w;
}

DenseWeights dense_mixing_weights(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind,
                                  const Tensor& lambda) {
  const AttentionArgs args = attention_args(z, labels, classifier_weight, kind);
  check_weights_args(z.dim(0), z.dim(1), lambda, z.dtype());
  const Device device = common_device({&z, &lambda}, "dense_mixing_weights");
  Tensor attention = Tensor::empty({z.dim(0), z.dim(1)}, z.dtype(), device);
  DenseWeights w = empty_weights(lambda, device);
  kernels::dense_mixing_weights(z, args.classifier_weight, args.labels, args.norm, lambda, attention, w.mtilde, w.s);
  return w;
}

Tensor positions_to_nchw(const Tensor& logits, int64_t R) {
  MM_CHECK(logits.ndim() == 3 && logits.dim(0) == R * R, "positions_to_nchw: logits must be [{}, n, c], got {}", R * R,
           shape_str(logits.shape()));
  const Tensor host = logits.to(cpu());
  const int64_t r = host.dim(0), n = host.dim(1), c = host.dim(2);
  Tensor out = Tensor::empty({n, c, R, R}, host.dtype());
  dispatch_floating(host.dtype(), "positions_to_nchw", [&](auto t) {
    using T = decltype(t);
    for (int64_t j = 0; j < r; ++j)
      for (int64_t k = 0; k < n; ++k)
        for (int64_t e = 0; e < c; ++e) out.data<T>()[(k * c + e) * r + j] = host.data<T>()[(j * n + k) * c + e];
  });
  return out;
}

}  // namespace mm
