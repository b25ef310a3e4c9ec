#pragma once
// Adversarial examples for the robustness evaluation of docs/math.md §4: FGSM and PGD in [0, 1] pixel space.
//
// `logits_of` maps pixels x [N, H, W, 3] to logits [N, C] with the normalisation inside
// (e.g. net.forward(normalise_pixels(x)), data/augment.h) and BN in evaluation mode (the caller's
// net.train(false)). The attacked loss is the mean cross-entropy against labels I64 [N].
// Every step is math::projected_sign_step: the same formula on the CPU and the GPU.
#include <functional>

#include "engine/tensor.h"

namespace mm {

using PixelClassifier = std::function<Tensor(const Tensor&)>;

// d loss / d x at x (x itself is not marked; nothing else needs to require grad).
Tensor input_gradient(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels);

// FGSM (Goodfellow et al. 2015): clip(x + eps sign(d loss / d x), 0, 1).
Tensor fgsm(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels, double eps);

// PGD with a random start (Madry et al. 2018): x_0 = clip(x + start, 0, 1), then `steps` times
// x_{t+1} = projected_sign_step(x_t, x, d loss / d x_t, step, eps). start: the random start, a draw
// like x with values in [-eps, eps] (sample_pgd_start), so the attack itself is deterministic.
Tensor pgd(const PixelClassifier& logits_of, const Tensor& x, const Tensor& labels, double eps, double step, int steps,
           const Tensor& start);

// PGD's random start for images first_index, first_index + 1, ... (shape [N, ...]): uniform noise in
// [-eps, eps] on the host, row k from its own generator (seed, first_index + k), so an image's start
// does not depend on the batch it is in.
Tensor sample_pgd_start(const Shape& shape, double eps, uint64_t seed, int64_t first_index);

}  // namespace mm
