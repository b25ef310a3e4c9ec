#include "models/attacks.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace mm {

Tensor input_gradient(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels) {
  Tensor leaf = x.clone().set_requires_grad(true);
  backward(cross_entropy(logits_of(leaf), labels));
  return leaf.grad();
}

Tensor fgsm(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels, double eps) {
  // one step from x with a ball as large as the step: only the [0, 1] clip acts
  return projected_sign_step(x, x, input_gradient(logits_of, x, labels), eps, eps);
}

Tensor pgd(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels, double eps, double step, int steps,
           const Tensor& start) {
  check_shape(start, x.shape(), "pgd start");
  // the random start: a step of the start's own sign pattern would lose its magnitudes, so it is
  // added directly and only clipped to valid pixels (|start| <= eps keeps it inside the ball)
  Tensor adv = projected_sign_step(add(x, start.to(x.device())), x, Tensor::zeros(x.shape(), x.dtype(), x.device()),
                                   0.0, eps);
  for (int t = 0; t < steps; ++t) adv = projected_sign_step(adv, x, input_gradient(logits_of, adv, labels), step, eps);
  return adv;
}

Tensor sample_pgd_start(const Shape& shape, double eps, uint64_t seed, int64_t first_index) {
  Tensor start = Tensor::empty(shape);
  const int64_t rows = shape.empty() ? 1 : shape[0], row = start.numel() / std::max<int64_t>(rows, 1);
  for (int64_t k = 0; k < rows; ++k) {
    Rng rng = seeded_rng({seed, static_cast<uint64_t>(first_index + k), 0x706764ull});
    for (int64_t i = k * row; i < (k + 1) * row; ++i) start.data<float>()[i] = static_cast<float>(rng.uniform(-eps, eps));
  }
  return start;
}

}  // namespace mm
