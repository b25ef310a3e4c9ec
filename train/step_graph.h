#pragma once
// The training step as CUDA graphs (docs/architecture.md "GPU step hygiene"). A step launches a few
// hundred small kernels, and at batch 128 the GPU finishes them faster than the host can queue
// them. A graph records the step's kernels once and replays them with one launch.
//
// What changes between steps must not be a kernel argument, since a replay repeats every argument:
// - the batch: copied into buffers of fixed address before each step (the loader's batches all have
//   one shape; the last partial batch is dropped);
// - the draws: the samplers read this step's key from device memory (mm::Seed), written before the step;
// - what runs: the mixing schedule's choice and the manifold layer pick one of several graphs;
// - the learning rate: a new value (a new epoch of the schedule) captures the graphs anew.
// Memory written by a graph comes from a pool private to the graphs (engine/cuda/runtime.h), so
// nothing outside them is handed a block that a replay writes.
#include <map>
#include <tuple>

#include "mixup/method.h"
#include "train/trainer.h"

namespace mm {

class StepGraphs {
 public:
  StepGraphs();
  ~StepGraphs();
  StepGraphs(const StepGraphs&) = delete;
  StepGraphs& operator=(const StepGraphs&) = delete;
  // One step of `trainer` (its key already written) on this batch: eager the first time this kind
  // of step comes, captured and replayed from the second on. Returns the step's loss, [] on the
  // device; a replayed graph's loss tensor is overwritten by the next replay of that graph.
  Tensor step(Trainer& trainer, const StepInputs& in, const Draws& draws, double lr);
  // Steps that ran as a replayed graph so far.
  int64_t replays() const { return replays_; }

 private:
  struct Captured;
  void drop_graphs();  // deletes every captured graph (their losses go back to the pool); kinds stay warmed
  using Kind = std::tuple<int, int>;  // Draws::method, Draws::layer
  std::map<Kind, Captured> graphs_;   // of the learning rate lr_
  double lr_ = -1;
  Tensor images_, images2_, labels_;  // the batch, at fixed addresses
  void* pool_ = nullptr;              // cuda::GraphPool
  bool failed_ = false;               // a capture failed: every later step runs eagerly
  int64_t replays_ = 0;
};

}  // namespace mm
