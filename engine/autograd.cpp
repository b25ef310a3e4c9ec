#include "engine/autograd.h"

#include <unordered_set>

namespace mm {

namespace {
struct Entry {
  const char* op;
  Tensor output;
  std::function<void()> backward;
};
thread_local std::vector<Entry> tape;
thread_local bool enabled = true;
// Each leaf that requires grad with the tape index of the first entry that uses it, in tape order:
// backward runs entries in reverse, so once that entry has run the leaf's gradient is complete.
struct FirstUse {
  size_t entry;
  Tensor leaf;
};
thread_local std::vector<FirstUse> first_uses;
thread_local std::unordered_set<const TensorImpl*> leaves_seen;
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
  first_uses.clear();
  leaves_seen.clear();
}
}  // namespace

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!enabled) return false;
  bool any = false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) {
      check_graph_alive(*t, "autograd");
      any = true;
      // an op that needs grad records exactly one entry next, at index tape.size()
      if (t->impl()->is_leaf && leaves_seen.insert(t->impl()).second) first_uses.push_back({tape.size(), *t});
    }
  return any;
}

void record(const char* op, Tensor& output, std::function<void()> backward) {
  output.impl()->requires_grad = true;
  output.impl()->is_leaf = false;
  tape.push_back(Entry{op, output, std::move(backward)});
}

void backward(const Tensor& loss, const std::function<void(const Tensor&)>& on_leaf_gradient) {
  MM_CHECK(loss.requires_grad(), "backward: the loss does not require grad (nothing was recorded)");
  check_graph_alive(loss, "backward");
  Tensor seed = loss;
  seed.grad_ref().fill(1.0);
  auto next_use = first_uses.rbegin();
  for (size_t i = tape.size(); i-- > 0;) {
    Entry& e = tape[i];
    if (e.output.grad().defined()) {  // else not on a path to the loss
      e.backward();
      e.output.zero_grad();  // a non-leaf's gradient is consumed
      e.backward = nullptr;  // frees what the closure saved
    }
    for (; next_use != first_uses.rend() && next_use->entry == i; ++next_use)
      if (on_leaf_gradient && next_use->leaf.grad().defined()) on_leaf_gradient(next_use->leaf);
  }
  release_tape();
}

void clear_tape() { release_tape(); }
size_t tape_size() { return tape.size(); }

}  // namespace mm
