#include "models/attacks.h"

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

Tensor sample_pgd_start(const Shape& shape, double eps, uint64_t seed, uint64_t stream) {
  Rng rng = seeded_rng({seed, stream, 0x706764ull});
  Tensor start = Tensor::empty(shape);
  for (int64_t i = 0; i < start.numel(); ++i) start.data<float>()[i] = static_cast<float>(rng.uniform(-eps, eps));
  return start;
}

}  // namespace mm
