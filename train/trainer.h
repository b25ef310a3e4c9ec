#pragma once
// The training library shared by train_cifar, bench and evaluate: one training step (draws, loss,
// backward, SGD update, EMA teacher), one epoch over the training split with its progress line and
// loss log, and the accuracy of a split. The apps keep only flag parsing and wiring.
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/optim.h"
#include "mixup/method.h"
#include "models/network.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "report/training_report.h"

namespace mm {

class StepGraphs;

// A step's batch: images, images2 (the teacher's view; distillation only) [m, H, W, 3] normalised,
// labels I64 [m].
struct StepInputs {
  Tensor images, images2, labels;
  int num_classes = 0;
};

// One training step of docs/math.md §2 and §3. The student, the teacher (distillation only) and
// the optimiser belong to the caller; the trainer updates them in place.
class Trainer {
 public:
  // teacher: required when method.distill (updated with method.ema_decay), else may be null.
  Trainer(Network& student, Network* teacher, Sgd& sgd, MethodConfig method, uint64_t seed, Device device);
  ~Trainer();

  // images, images2 (the teacher's view; distillation only): [m, H, W, 3] normalised, labels I64 [m],
  // on any device (they move to the trainer's). The step's draws are a function of (seed, epoch,
  // step) only, so a resumed run repeats them exactly. Returns the batch's mean loss, [] on the
  // device, not read (reading it waits for the GPU). A non-finite loss shows there when read.
  Tensor step(const Tensor& images, const Tensor& images2, const Tensor& labels, int num_classes, int epoch,
              int64_t step, double lr);

  const MethodConfig& method() const { return method_; }
  Device device() const { return device_; }
  // The networks' floating type: float32, or float64 (CPU runs that check exactness).
  DType dtype() const { return student_.parameters().front().dtype(); }

  // Data-parallel training (docs/distributed.md): the step's draws become this rank's, the
  // gradients are averaged over `ranks` during backward, and unless batch norm is synchronised
  // (set_batch_norm_sync) each step starts from rank 0's BN running statistics, as PyTorch's DDP
  // does, so that the models of all ranks stay identical. `ranks` must outlive the trainer.
  void set_ranks(const Communicator& ranks, bool sync_bn);
  // Data-parallel runs without synchronised batch norm: every rank takes rank 0's BN running
  // statistics (the student's and the teacher's). Each step starts with it.
  void share_root_buffers();
  // The ranks of a data-parallel run, or nullptr (one process).
  const Communicator* ranks() const { return ranks_; }
  // GPU, one process, float32: each kind of step (the mixing schedule's choice, the manifold
  // layer, the learning rate) runs eagerly once, is then captured as a CUDA graph and replayed
  // from then on (train/step_graph.h). Where a capture fails, the run says why once and goes on eagerly.
  void use_cuda_graphs();
  // Steps that ran as a replayed CUDA graph so far (0 without graphs, or after a failed capture).
  int64_t cuda_graph_replays() const;
  // Seconds spent averaging gradients so far (the CPU waits for MPI; the GPU's averages overlap
  // backward and are not counted).
  double seconds_averaging() const { return averager_ ? averager_->seconds_waiting() : 0.0; }
  // From now on, each step adds the seconds of its phases (mixup/step_phases.h) to *sink, waiting for
  // the device at every phase's end; nullptr stops it. Eager steps only (not with CUDA graphs).
  void time_phases(PhaseSeconds* sink);

 private:
  friend class StepGraphs;
  // The step after the host's decisions: draws, loss, backward, update (what a CUDA graph captures).
  Tensor run_step(const StepInputs& in, Draws draws, double lr);
  // The draws of rank r > 0 come from streams of their own (r joins the seeds); rank 0, like a
  // single process, returns 0 and draws what a single process draws.
  uint64_t draws_rank() const { return ranks_ ? static_cast<uint64_t>(ranks_->rank()) : 0; }

  Network& student_;
  Network* teacher_;
  Sgd& sgd_;
  MethodConfig method_;
  uint64_t seed_;
  Device device_;
  const Communicator* ranks_ = nullptr;
  bool sync_bn_ = false;
  std::unique_ptr<GradientAverager> averager_;
  Tensor step_key_;  // I64 [1] where the step runs: this step's key of the draws (mm::Seed)
  std::unique_ptr<StepGraphs> graphs_;
  PhaseSeconds* phase_sink_ = nullptr;  // time_phases
};

// How an epoch reports: a progress line every `log_every` steps (and twice a second, rewritten
// in place, on a terminal), and with a loss log open, one JSON line {epoch, step, loss} per
// `log_every` steps holding the mean loss of those steps.
struct EpochReport {
  int epochs = 1;  // for "epoch E/N"
  int log_every = 20;
  bool tty = false;
  std::ofstream* loss_log = nullptr;
};

// Trains epoch `epoch` (0-based) over `train` in the loader's order at learning rate lr, from
// progress.step on (0: its start; more: resumed from a mid-epoch checkpoint), keeping progress up
// to date (in a data-parallel run its loss sum and image count are those of all ranks together). Every `checkpoint_every` steps (0: never), and when a stop is requested
// (train/interrupt.h), it calls save(progress); after a stop it returns false, else true when the
// epoch is done (progress.loss_sum / progress.images is then the epoch's train loss). Throws an
// error naming the epoch and step when a step fails or the loss is not finite.
bool train_epoch(Trainer& trainer, const Dataset& train, const LoaderOptions& loader_options, int epoch, double lr,
                 const EpochReport& report, EpochProgress& progress, int64_t checkpoint_every = 0,
                 const std::function<void(const EpochProgress&)>& save = {});

// Mean cross-entropy and top-1 / top-5 counts over labelled logits, a batch at a time.
struct AccuracyCounter {
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0, count = 0;
  // logits: F32 [N, C] on any device, labels: I64 [N] on the host.
  void add(const Tensor& logits, const Tensor& labels);
  double loss() const { return loss_sum / static_cast<double>(count); }
  double top1_percent() const { return 100.0 * static_cast<double>(top1) / static_cast<double>(count); }
  double top5_percent() const { return 100.0 * static_cast<double>(top5) / static_cast<double>(count); }
};

// Test loss and accuracy of `net` on a split, batch norm in evaluation mode, no gradients. The
// network is left in training mode. With `ranks`, each rank scores its share of the split (every
// K-th image) and the counts are summed over the ranks.
AccuracyCounter evaluate_split(Network& net, const Dataset& split, int batch_size, const Communicator* ranks = nullptr);

// A whole run from where info stands (info.epoch completed epochs, and info.progress into the
// next): each epoch is trained, the test split evaluated (and the EMA teacher's, when there is
// one), a line printed, OUT/last.safetensors (and OUT/best.safetensors when top-1 improves)
// written, and then OUT/metrics.jsonl and OUT/report.html (report/training_report.h) rewritten from the
// checkpoint's rows, so the file always holds one row per completed epoch of the checkpoint, in
// order, whatever kills and resumes came before. With checkpoint_every > 0, last.safetensors is
// also written every that many steps. Returns false when a stop was requested (the checkpoint of
// that step is written), true when all epochs are done.
struct RunSettings {
  int epochs = 1;
  std::function<double(int)> lr;  // the learning rate of a 0-based epoch
  LoaderOptions loader;           // batch size, seed, workers, views, pinned; the epoch is set here
  int eval_batch_size = 500;
  std::string out;                // the run folder
  int64_t checkpoint_every = 0;   // steps between mid-epoch checkpoints (0: at the end of epochs only)
  EpochReport report;
  RunDescription description;     // for OUT/report.html
};
bool train_run(Trainer& trainer, Network& student, Network* teacher, Sgd& sgd, const DataSplits& data,
               const RunSettings& settings, CheckpointInfo& info);

}  // namespace mm
