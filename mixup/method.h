#pragma once
// The training objectives of docs/math.md §3: erm, input mixup, manifold mixup, CutMix, MultiMix, dense
// MultiMix, each optionally with self-distillation from an EMA teacher. sample_draws() makes a
// step's random draws; mixed_loss() builds the step's loss from explicit draws, so the same code
// serves train_cifar (sampled draws) and probe (draws read from a file). Each method is one class
// in mixup/method.cpp (a MixingMethod: its draws, its mixed forward, its targets and its loss);
// Method names it, and a new method is a new class and a new name.
#include <string>

#include "engine/rng.h"
#include "engine/safetensors.h"
#include "mixup/dense.h"
#include "mixup/step_phases.h"
#include "models/network.h"

namespace mm {

enum class Method { Erm, Mixup, Manifold, Cutmix, MultiMix, DenseMultiMix };
Method parse_method(const std::string& name);
std::string method_name(Method m);

// A method's settings; the defaults are docs/math.md §3's and the apps' flags take theirs from here.
struct MethodConfig {
  Method method = Method::Erm;
  int n = 1000;                               // MultiMix: interpolated tuples
  double alpha_lo = 0.5, alpha_hi = 2.0;      // MultiMix: alpha_k ~ U[lo, hi]
  double mixup_alpha = 1.0;                   // input mixup: lam ~ Beta(a, a)
  double mix_prob = 0.5;                      // (dense) MultiMix with this probability, input mixup otherwise
  int mix_layer = -1;                         // MultiMix interpolation layer; -1 = last (the embedding)
  Attention attention = Attention::GapRelu;   // dense MultiMix
  int dense_resolution = 4;                   // dense MultiMix: R x R positions, r = R^2
  bool logit_path = true;                     // MultiMix at the embedding: mix logits (cheaper, equal)
  bool distill = false;
  double gamma = 0.5;                         // distillation: gamma H(Y, P) + (1 - gamma) H(P', P)
  double ema_decay = 0.999;                   // distillation: the teacher's beta (mixup/ema.h)
  bool teacher_stream = false;                // distillation on a GPU: the teacher's forward on a second
                                              // stream, beside the student's (engine/device.h SideStream)
};

// One step's draws (docs/architecture.md "Randomness"). `method` is what the step runs: with mix_prob < 1
// a MultiMix run uses input mixup on some steps (paper 4.1). The tensors live where the step runs,
// so a GPU step reads none of them back.
struct Draws {
  Method method = Method::Erm;
  Tensor lam;     // F32 []: mixup, manifold, cutmix (the fraction of x_i that stays)
  Tensor perm;    // I64 [m]: mixup, manifold, cutmix
  int layer = 0;  // manifold: k in {0, 1, 2}
  Tensor box;     // I64 [4]: cutmix
  Tensor lambda;  // F32 [m, n] (multimix) or [r, m, n] (dense)
  Draws to(Device device) const;
  Draws to(DType dtype) const;  // lam and lambda in dtype (the indices stay I64)
};

// The draws of `method` as a probe batch file holds them (docs/architecture.md "Interfaces"): lam F32 [],
// perm I64 [m], layer I64 [], box I64 [4], Lambda F32 [m, n] or [r, m, n]; checked against the
// batch's images F32 [m, 3, H, W] (permutation, box inside the image, lam in [0, 1]).
Draws read_draws(Method method, const TensorFile& batch);

// The seeds of a step's samplers (docs/architecture.md "Randomness"): salts from `salts`, keyed by
// `key` when it is defined (mm::Seed: the trainer's key of the step, written in device memory
// before the step, so that a captured CUDA graph keeps its salts and still draws anew).
struct StepRandom {
  Rng& salts;
  Tensor key;
  Seed next_seed() { return Seed(salts.next_u64(), key); }
};

// What a step runs, decided on the host: d.method (with mix_prob < 1, input mixup in place of
// (dense) MultiMix on some steps) and, for manifold mixup, d.layer. No tensors yet.
Draws choose_draws(const MethodConfig& config, Rng& decisions);
// The tensors of the draws of d.method for m examples of H x W pixels (dense draws need r, the
// positions after --dense-resolution), sampled on `device` (cuRAND on the GPU).
void sample_draws(Draws& d, const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W,
                  StepRandom& random, Device device);
// Both, with one generator for the decisions and the seeds (tests, probe).
Draws sample_draws(const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W, Rng& rng,
                   Device device = cpu());

// The number of dense positions r for an input of H x W (throws when the resolution does not
// divide the final feature map).
int64_t dense_positions(const Network& net, const MethodConfig& config, int64_t H, int64_t W);

struct StepResult {
  Tensor loss;    // [] (recorded for backward)
  Tensor logits;  // the student's mixed logits: [m, c], [n, c] (multimix) or [r, n, c] (dense)
};

// images: [m, H, W, 3] (view v), images2: the teacher's view v' (distillation), labels: I64 [m].
// teacher: required when config.distill (forward with batch statistics, no gradient). clock: marks
// the ends of the student's, the teacher's and the loss's phases (bench --phases).
StepResult mixed_loss(Network& student, Network* teacher, const Tensor& images, const Tensor& images2,
                      const Tensor& labels, int num_classes, const MethodConfig& config, const Draws& draws,
                      PhaseClock& clock = PhaseClock::none());

}  // namespace mm
