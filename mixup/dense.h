#pragma once
// Dense MultiMix (paper 3.4, docs/math.md §3): attention over the r positions of each example and the
// per-position interpolation weights built from it.
#include <string>

#include "engine/tensor.h"

namespace mm {

// gap-relu (default), gap-softmax, cam-relu, cam-softmax, uniform.
// gap: u_i = mean over positions of z_i; cam: u_i = W y_i (the classifier row of the label).
// relu: h = ReLU then l1-normalise over positions (uniform when all are 0); softmax: h = softmax.
enum class Attention { GapRelu, GapSoftmax, CamRelu, CamSoftmax, Uniform };
Attention parse_attention(const std::string& name);

// z: [m, r, d] embeddings per position, labels: I64 [m], classifier_weight: [c, d] (CAM only)
//   -> a: [m, r], a_i = h(z_i^T u_i). A constant: no gradient flows through it (project choice).
Tensor dense_attention(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind);

struct DenseWeights {
  Tensor mtilde;  // [r, m, n]: Mtilde^j = M^j diag(s^j)^-1, M^j = diag(a^j) Lambda^j
  Tensor s;       // [r, n]:    s^j = 1^T M^j
};
// attention: [m, r], lambda: [r, m, n] -> the weights of every position (math::dense_column).
DenseWeights dense_weights(const Tensor& attention, const Tensor& lambda);
// dense_weights(dense_attention(z, labels, classifier_weight, kind), lambda), the training step's
// path: on the GPU one kernel computes both (the attention stays in scratch memory).
DenseWeights dense_mixing_weights(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind,
                                  const Tensor& lambda);

// Dense logits [r, n, c] with r = R x R positions (row-major) -> [n, c, R, R], the layout of a
// PyTorch 1x1-convolution output (probe's file and the fixtures). A CPU copy; no gradient.
Tensor positions_to_nchw(const Tensor& logits, int64_t R);

}  // namespace mm
