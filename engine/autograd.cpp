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

namespace {
void check_graph_alive(const Tensor& t, const char* what) {
  MM_CHECK(!t.impl()->graph_released,
           "{}: a tensor of shape {} was computed before the last backward() or clear_tape(), which released its "
           "graph (the tape runs once); compute it again",
           what, shape_str(t.shape()));
}

// Ends the graph of every recorded result on the tape, then empties it.
void release_tape() {
  for (Entry& e : tape) e.output.impl()->graph_released = true;
  tape.clear();
}
}  // namespace

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!enabled) return false;
  bool any = false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) {
      check_graph_alive(*t, "autograd");
      any = true;
    }
  return any;
}

void record(const char* op, Tensor& output, std::function<void()> backward) {
  output.impl()->requires_grad = true;
  output.impl()->is_leaf = false;
  tape.push_back(Entry{op, output, std::move(backward)});
}

void backward(const Tensor& loss) {
  MM_CHECK(loss.requires_grad(), "backward: the loss does not require grad (nothing was recorded)");
  check_graph_alive(loss, "backward");
  Tensor seed = loss;
  seed.grad_ref().fill(1.0);
  for (auto it = tape.rbegin(); it != tape.rend(); ++it) {
    if (!it->output.grad().defined()) continue;  // not on a path to the loss
    it->backward();
    it->output.zero_grad();  // a non-leaf's gradient is consumed
    it->backward = nullptr;  // frees what the closure saved
  }
  release_tape();
}

void clear_tape() { release_tape(); }
size_t tape_size() { return tape.size(); }

}  // namespace mm
