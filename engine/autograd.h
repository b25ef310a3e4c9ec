#pragma once
// Define-by-run tape autograd.
//
// Each differentiable op computes its output and, when grad mode is on and an input requires grad,
// records one entry on the tape: the output and a closure that reads the output's gradient and
// *accumulates* into the gradients of its inputs (Tensor::grad_ref()). backward(loss) seeds
// d loss/d loss = 1 and runs the entries in reverse order, then clears the tape, which frees the
// activations the closures saved. Gradients of non-leaf tensors are freed once consumed; leaves
// (parameters, inputs marked with set_requires_grad) keep theirs until zero_grad().
//
// The tape runs once, and all of it: a second graph recorded before backward() of the first is
// released with it. Its results (and every recorded result of the first graph) are then marked
// released, and an op that would build a new graph on one of them throws instead of silently
// dropping the gradient that should have flowed through it. Compute such a result again.
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mm {

// While alive, ops record nothing (teacher forward, evaluation). Nests.
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

bool grad_enabled();

// True when grad mode is on and any of the inputs requires grad: the op must record.
// Throws when grad mode is on and an input is a recorded result whose graph was released.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Marks `output` as a non-leaf that requires grad and records `backward` for it.
// `backward` runs only if `output` received a gradient.
void record(const char* op, Tensor& output, std::function<void()> backward);

// Runs the tape backwards from `loss` (any shape; seeded with ones) and clears it.
// Requires: loss was recorded since the last backward() or clear_tape().
// on_leaf_gradient, when given, is called for each leaf (parameter) as soon as its gradient is
// complete, i.e. right after the entry of its first use in the forward pass has run: data-parallel
// training starts averaging a layer's gradients across processes while backward goes on below it.
// Leaves that received no gradient are not reported.
void backward(const Tensor& loss, const std::function<void(const Tensor&)>& on_leaf_gradient = {});

// Drops every recorded entry without running it (e.g. after an evaluation that recorded).
void clear_tape();
size_t tape_size();

}  // namespace mm
