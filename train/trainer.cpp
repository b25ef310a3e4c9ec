#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/allocator.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/metrics.h"
#include "mixup/ema.h"
#include "train/interrupt.h"
#include "train/log.h"
#include "report/training_report.h"
#include "train/step_graph.h"

namespace mm {

Trainer::Trainer(Network& student, Network* teacher, Sgd& sgd, MethodConfig method, uint64_t seed, Device device)
    : student_(student), teacher_(teacher), sgd_(sgd), method_(method), seed_(seed), device_(device),
      step_key_(Tensor::zeros({1}, DType::I64, device)) {
  MM_CHECK(!method.distill || teacher, "distillation needs a teacher network");
}

Trainer::~Trainer() = default;

void Trainer::use_cuda_graphs() {
  MM_CHECK(device_.is_cuda(), "CUDA graphs need --device cuda");
  MM_CHECK(!ranks_, "CUDA graphs: one process only (a data-parallel step averages gradients through the host)");
  MM_CHECK(dtype() == DType::F32, "CUDA graphs: float32 networks only");
  MM_CHECK(!phase_sink_, "CUDA graphs: a step whose phases are timed runs eagerly");
  graphs_ = std::make_unique<StepGraphs>();
}

int64_t Trainer::cuda_graph_replays() const { return graphs_ ? graphs_->replays() : 0; }

Tensor Trainer::step(const Tensor& images, const Tensor& images2, const Tensor& labels, int num_classes, int epoch,
                     int64_t step, double lr) {
  const uint64_t e = static_cast<uint64_t>(epoch), s = static_cast<uint64_t>(step);
  const uint64_t rank = draws_rank();
  auto stream = [&](uint64_t tag) { return rank ? seeded_rng({seed_, e, s, tag, rank}) : seeded_rng({seed_, e, s, tag}); };
  // The step's randomness (docs/architecture.md "Randomness"): what runs is decided on the host from
  // this step's stream; the device's draws take salts that are the same at every step (run_step),
  // keyed by this step's key, which is written where the step runs before it starts.
  Rng decisions = stream(0x6D6978ull);
  const auto key = static_cast<int64_t>(stream(0x6B6579ull).next_u64());
  step_key_.copy_from(Tensor::from_vector<int64_t>(std::vector<int64_t>{key}, {1}));
  share_root_buffers();
  Draws draws = choose_draws(method_, decisions);
  const StepInputs in{images, images2, labels, num_classes};
  if (graphs_) return graphs_->step(*this, in, draws, lr);
  return run_step(in, draws, lr);
}

Tensor Trainer::run_step(const StepInputs& in, Draws draws, double lr) {
  Tensor loss;
  PhaseClock clock(phase_sink_, device_);
  try {
    const uint64_t rank = draws_rank();
    Rng salts = rank ? seeded_rng({seed_, 0x73616C74ull, rank}) : seeded_rng({seed_, 0x73616C74ull});
    StepRandom random{salts, step_key_};
    student_.reseed_dropout(random.next_seed());
    sample_draws(draws, method_, student_, in.labels.numel(), in.images.dim(1), in.images.dim(2), random, device_);
    // batches and draws come in float32; a float64 network takes them in float64
    const DType type = dtype();
    auto prepare = [&](const Tensor& t) { return t.defined() ? t.to(device_).to(type) : t; };
    if (type != DType::F32) draws = draws.to(type);
    clock.end(Phase::Draws);
    loss = mixed_loss(student_, teacher_, prepare(in.images), prepare(in.images2), in.labels.to(device_), in.num_classes,
                      method_, draws, clock)
               .loss;
    if (averager_) {
      backward(loss, [&](const Tensor& parameter) { averager_->gradient_ready(parameter); });
      averager_->finish();
    } else {
      backward(loss);
    }
    clock.end(Phase::Backward);
  } catch (...) {
    clear_tape();  // a failed step leaves no half-recorded graph behind
    throw;
  }
  sgd_.step(lr);
  sgd_.zero_grad();
  if (method_.distill) ema_update(*teacher_, student_, method_.ema_decay);
  clock.end(Phase::Update);
  return loss;
}

void Trainer::time_phases(PhaseSeconds* sink) {
  MM_CHECK(!sink || !graphs_, "timing a step's phases needs eager steps (not CUDA graphs)");
  phase_sink_ = sink;
}

void Trainer::share_root_buffers() {
  if (!ranks_ || sync_bn_) return;  // synchronised batch norm keeps them equal
  for (Network* net : {&student_, teacher_})
    if (net)
      for (NamedTensor& buffer : net->named_buffers()) ranks_->broadcast(buffer.tensor, 0);
}

void Trainer::set_ranks(const Communicator& ranks, bool sync_bn) {
  ranks_ = &ranks;
  sync_bn_ = sync_bn;
  averager_ = std::make_unique<GradientAverager>(ranks, student_.parameters());
}

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

bool train_epoch(Trainer& trainer, const Dataset& train, const LoaderOptions& loader_options, int epoch, double lr,
                 const EpochReport& report, EpochProgress& progress, int64_t checkpoint_every,
                 const std::function<void(const EpochProgress&)>& save) {
  const Communicator* ranks = trainer.ranks();
  const bool root = !ranks || ranks->is_root();
  LoaderOptions options = loader_options;
  options.first_batch = progress.step;
  BatchLoader loader(train, options);
  const auto start = Clock::now();
  const double seconds_before = progress.seconds;
  // The loss stays where it was computed: a running sum of loss x batch size, read (which waits
  // for the GPU) only for a progress line, the loss log, a checkpoint and the end of the epoch. In
  // a data-parallel run each rank sums its own (rank 0 starts from the sum of all ranks when
  // resumed) and reading it sums over the ranks, so every rank reads it at the same steps.
  Tensor loss_sum = progress.step > 0 ? Tensor::scalar(root ? progress.loss_sum : 0.0, trainer.dtype(), trainer.device())
                                      : Tensor();
  int64_t& step = progress.step;
  double last_print = 0;
  const bool tty = report.tty && !ranks;  // progress twice a second would read the loss at different steps
  const int64_t images_per_step = static_cast<int64_t>(options.batch_size) * options.ranks;
  // rank 0 alone writes the loss log, but every rank must take part in reading the loss for it
  const bool loss_log = ranks ? ranks->any(report.loss_log != nullptr) : report.loss_log != nullptr;
  auto sum_so_far = [&] {
    const double local = loss_sum.item(), sum = ranks ? ranks->sum(local) : local;
    MM_CHECK(std::isfinite(sum), "epoch {} step {}: the loss is {}", epoch + 1, step,
             sum / static_cast<double>(progress.images));
    return sum;
  };
  auto update_progress = [&] {
    progress.loss_sum = sum_so_far();
    progress.seconds = seconds_before + seconds_since(start);
  };
  Batch b;
  while (loader.next(b)) {
    ++step;
    try {
      const Tensor loss = trainer.step(b.images, b.images2, b.labels, train.num_classes, epoch, step - 1, lr);
      NoGrad no_grad;
      const Tensor weighted = scale(loss, static_cast<double>(b.labels.numel()));
      loss_sum = loss_sum.defined() ? add(loss_sum, weighted) : weighted;
    } catch (const Error& e) {
      throw Error(fmt::format("epoch {} step {}: {}", epoch + 1, step, e.what()));
    }
    progress.images += images_per_step;
    const double elapsed = seconds_since(start);
    if (loss_log && step % report.log_every == 0) {
      const double sum = sum_so_far();
      if (report.loss_log)
        *report.loss_log << fmt::format("{{\"epoch\":{},\"step\":{},\"loss\":{:.6f}}}\n", epoch + 1, step,
                                      (sum - progress.logged_loss_sum) /
                                          static_cast<double>(progress.images - progress.logged_images))
                       << std::flush;
      progress.logged_loss_sum = sum, progress.logged_images = progress.images;
    }
    if (step % report.log_every == 0 || step == loader.num_batches() || (tty && elapsed - last_print >= 0.5)) {
      last_print = elapsed;
      const double steps_here = static_cast<double>(step - options.first_batch);
      const double eta = static_cast<double>(loader.num_batches() - step) * elapsed / steps_here;
      say_progress(fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.4g} {:.1f} img/s ETA {:.0f}s", epoch + 1,
                               report.epochs, step, loader.num_batches(), sum_so_far() / static_cast<double>(progress.images),
                               lr, steps_here * static_cast<double>(images_per_step) / elapsed, eta),
                   tty);
    }
    const bool stop = ranks ? ranks->any(stop_requested()) : stop_requested();  // all ranks stop at one step
    if (save && step < loader.num_batches() && (stop || (checkpoint_every > 0 && step % checkpoint_every == 0))) {
      update_progress();
      save(progress);
    }
    if (stop && step < loader.num_batches()) {
      if (tty) say_progress("\n", true);
      return false;
    }
  }
  if (tty) say_progress("\n", true);
  update_progress();
  return true;
}

void AccuracyCounter::add(const Tensor& logits, const Tensor& labels) {
  const Tensor host = logits.to(cpu());
  loss_sum += cross_entropy(host, labels).item() * static_cast<double>(host.dim(0));
  const Tensor ranked = host.to(DType::F32);  // a float64 run's logits ranked in float32
  top1 += count_top_k(ranked, labels, 1);
  top5 += count_top_k(ranked, labels, 5);
  count += host.dim(0);
}

AccuracyCounter evaluate_split(Network& net, const Dataset& split, int batch_size, const Communicator* ranks) {
  NoGrad no_grad;
  const Device device = net.parameters().front().device();
  net.train(false);
  LoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = o.augment = o.drop_last = false;
  o.pinned = pinned_batches_for(device);
  if (ranks) o.rank = ranks->rank(), o.ranks = ranks->size();
  BatchLoader loader(split, o);
  Batch b;
  AccuracyCounter counter;
  const DType type = net.parameters().front().dtype();
  while (loader.next(b))
    if (b.labels.numel() > 0)  // the last may be empty
      counter.add(net.forward(b.images.to(device).to(type)), b.labels);
  net.train(true);
  if (ranks) {
    counter.loss_sum = ranks->sum(counter.loss_sum);
    counter.top1 = ranks->sum(counter.top1), counter.top5 = ranks->sum(counter.top5);
    counter.count = ranks->sum(counter.count);
  }
  return counter;
}

bool train_run(Trainer& trainer, Network& student, Network* teacher, Sgd& sgd, const DataSplits& data,
               const RunSettings& settings, CheckpointInfo& info) {
  const std::string& out = settings.out;
  const Communicator* ranks = trainer.ranks();
  const bool root = !ranks || ranks->is_root();  // only rank 0 writes files
  auto save = [&](const std::string& path) {
    if (root) save_checkpoint(path, student, sgd, teacher, info);
  };
  // metrics.jsonl (and the report drawn from it) follow the checkpoint: rows a killed run appended
  // after it are dropped here
  auto write_metrics = [&] {
    if (!root) return;
    write_text_atomically(out + "/metrics.jsonl", info.metrics_jsonl);
    write_text_atomically(out + "/report.html", training_report(settings.description, info.metrics_jsonl));
  };
  write_metrics();
  for (int epoch = info.epoch; epoch < settings.epochs; ++epoch) {
    const double lr = settings.lr(epoch);
    LoaderOptions loader = settings.loader;
    loader.epoch = epoch;
    auto save_progress = [&](const EpochProgress& progress) {
      info.progress = progress;
      save(out + "/last.safetensors");
    };
    const auto start = Clock::now();
    const double seconds_before = info.progress.seconds;
    try {
      if (!train_epoch(trainer, data.train, loader, epoch, lr, settings.report, info.progress, settings.checkpoint_every,
                       save_progress))
        return false;
    } catch (const Error& e) {
      throw Error(fmt::format("{}; stopping (the last good checkpoint stays in {})", e.what(), out));
    }
    const EpochProgress trained = info.progress;
    trainer.share_root_buffers();  // every rank evaluates (and rank 0 saves) the same model
    const AccuracyCounter test = evaluate_split(student, data.test, settings.eval_batch_size, ranks);
    const bool improved = test.top1_percent() > info.best_top1;
    info.best_top1 = std::max(info.best_top1, test.top1_percent());
    info.epoch = epoch + 1;
    info.progress = EpochProgress{};
    const double train_loss = trained.loss_sum / static_cast<double>(trained.images);
    const double images_per_s = static_cast<double>(trained.images) / trained.seconds;
    const double seconds = seconds_before + seconds_since(start);
    // a distillation run also scores its EMA teacher: either may be the one to keep
    std::string teacher_line, teacher_fields;
    if (teacher) {
      const AccuracyCounter t = evaluate_split(*teacher, data.test, settings.eval_batch_size, ranks);
      teacher_line = fmt::format(", teacher top-1 {:.2f}%", t.top1_percent());
      teacher_fields = fmt::format(",\"teacher_test_loss\":{:.9g},\"teacher_top1\":{:.4f},\"teacher_top5\":{:.4f}", t.loss(),
                                   t.top1_percent(), t.top5_percent());
    }
    say("epoch {}/{}: train loss {:.4f}, test loss {:.4f}, top-1 {:.2f}% (best {:.2f}%), top-5 {:.2f}%{}, {:.1f} img/s, {:.0f}s\n",
        epoch + 1, settings.epochs, train_loss, test.loss(), test.top1_percent(), info.best_top1, test.top5_percent(),
        teacher_line, images_per_s, seconds);
    info.metrics_jsonl += fmt::format(
        "{{\"epoch\":{},\"lr\":{:.6g},\"train_loss\":{:.9g},\"test_loss\":{:.9g},\"top1\":{:.4f},\"top5\":{:.4f},"
        "\"best_top1\":{:.4f}{},\"img_per_s\":{:.2f},\"seconds\":{:.2f}}}\n",
        epoch + 1, lr, train_loss, test.loss(), test.top1_percent(), test.top5_percent(), info.best_top1, teacher_fields,
        images_per_s, seconds);
    // the checkpoint first: a row in metrics.jsonl always has its checkpoint
    save(out + "/last.safetensors");
    if (improved) save(out + "/best.safetensors");
    write_metrics();
    const bool stop = ranks ? ranks->any(stop_requested()) : stop_requested();
    if (stop && epoch + 1 < settings.epochs) return false;
  }
  return true;
}

}  // namespace mm
