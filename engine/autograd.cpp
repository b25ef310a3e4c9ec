#include "engine/autograd.h"

namespace mm {

namespace {
struct Entry {
  const char* op;
  Tensor output;
  std::function<void()> backward;
};
thread_local std::vector<Entry> tape;
thread_local bool enabled = true;
}  // namespace

NoGrad::NoGrad() : previous_(enabled) { enabled = false; }
NoGrad::~NoGrad() { enabled = previous_; }
bool grad_enabled() { return enabled; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

void record(const char* op, Tensor& output, std::function<void()> backward) {
  output.impl()->requires_grad = true;
  output.impl()->is_leaf = false;
  tape.push_back(Entry{op, output, std::move(backward)});
}

void backward(const Tensor& loss) {
  MM_CHECK(loss.requires_grad(), "backward: the loss does not require grad (nothing was recorded)");
  Tensor seed = loss;
  seed.grad_ref().fill(1.0);
  for (auto it = tape.rbegin(); it != tape.rend(); ++it) {
    if (!it->output.grad().defined()) continue;  // not on a path to the loss
    it->backward();
    it->output.zero_grad();  // a non-leaf's gradient is consumed
    it->backward = nullptr;  // frees what the closure saved
  }
  tape.clear();
}

void clear_tape() { tape.clear(); }
size_t tape_size() { return tape.size(); }

}  // namespace mm
