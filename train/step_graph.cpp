#include "train/step_graph.h"

#include "engine/dispatch.h"
#include "train/log.h"
#ifdef MM_WITH_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace mm {

struct StepGraphs::Captured {
  bool warmed = false;   // ran eagerly once: cuDNN's plans, cuBLAS's workspace, SGD's buffers exist
  void* graph = nullptr;  // cuda::Graph
  Tensor loss;            // where the graph writes the step's loss
};

StepGraphs::StepGraphs() { MM_CUDA_CALL(pool_ = cuda::new_graph_pool()); }

StepGraphs::~StepGraphs() {
#ifdef MM_WITH_CUDA
  drop_graphs();  // the losses go back to the pool before it goes
  cuda::delete_graph_pool(static_cast<cuda::GraphPool*>(pool_));
#endif
}

void StepGraphs::drop_graphs() {
#ifdef MM_WITH_CUDA
  for (auto& [kind, captured] : graphs_) {
    cuda::delete_graph(static_cast<cuda::Graph*>(captured.graph));
    captured.graph = nullptr;
    captured.loss = Tensor();
  }
#endif
}

namespace {
// dst (allocated on first use with src's shape, on `device`) takes src's values.
void copy_into(Tensor& dst, const Tensor& src, Device device) {
  if (!src.defined()) return;
  if (!dst.defined()) dst = Tensor::empty(src.shape(), src.dtype(), device);
  MM_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(),
           "CUDA graphs: every batch must have one shape and type ({} {}, got {} {})", dtype_name(dst.dtype()),
           shape_str(dst.shape()), dtype_name(src.dtype()), shape_str(src.shape()));
  dst.copy_from(src);
}
}  // namespace

Tensor StepGraphs::step(Trainer& trainer, const StepInputs& in, const Draws& draws, double lr) {
  copy_into(images_, in.images, trainer.device());
  copy_into(images2_, in.images2, trainer.device());
  copy_into(labels_, in.labels, trainer.device());
  const StepInputs fixed{images_, images2_, labels_, in.num_classes};
  if (failed_) return trainer.run_step(fixed, draws, lr);
#ifdef MM_WITH_CUDA
  if (lr != lr_) {  // the learning rate is an argument of SGD's kernels: capture anew
    drop_graphs();
    lr_ = lr;
  }
  Captured& c = graphs_[Kind{static_cast<int>(draws.method), draws.layer}];
  if (c.graph) {
    cuda::replay_graph(static_cast<cuda::Graph*>(c.graph));
    ++replays_;
    return c.loss;
  }
  if (!c.warmed) {
    c.warmed = true;
    return trainer.run_step(fixed, draws, lr);
  }
  std::string why;
  Tensor loss;
  cuda::Graph* graph = cuda::capture_graph(static_cast<cuda::GraphPool*>(pool_),
                                           [&] { loss = trainer.run_step(fixed, draws, lr); }, &why);
  if (!graph) {
    failed_ = true;
    say(fmt::format("CUDA graphs: the step could not be captured ({}); every step runs eagerly", why));
    trainer.sgd_.zero_grad();  // gradients the capture allocated hold nothing: the eager step must not add to them
    return trainer.run_step(fixed, draws, lr);  // nothing of the capture ran: this step runs now
  }
  c.graph = graph;
  c.loss = loss;
  cuda::replay_graph(graph);
  ++replays_;
  return loss;
#else
  return trainer.run_step(fixed, draws, lr);
#endif
}

}  // namespace mm
