#include "mixup/method.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "mixup/ops.h"
#include "mixup/samplers.h"

namespace mm {

Method parse_method(const std::string& name) {
  if (name == "erm") return Method::Erm;
  if (name == "mixup") return Method::Mixup;
  if (name == "manifold") return Method::Manifold;
  if (name == "cutmix") return Method::Cutmix;
  if (name == "multimix") return Method::MultiMix;
  if (name == "dense-multimix") return Method::DenseMultiMix;
  throw Error(fmt::format("unknown method '{}' (erm, mixup, manifold, cutmix, multimix, dense-multimix)", name));
}

std::string method_name(Method m) {
  const char* names[] = {"erm", "mixup", "manifold", "cutmix", "multimix", "dense-multimix"};
  return names[static_cast<int>(m)];
}

namespace {

// The side of the final feature map for an input side H: every stage but the first halves it
// (PreAct-ResNet-18: H / 8, WRN-16-8: H / 4).
int64_t feature_side(const Network& net, int64_t H) { return H >> (net.num_stages() - 1); }

// The final feature map pooled to R x R and flattened: [m, h, w, d] -> [m, r, d].
Tensor dense_embedding(Network& net, const Tensor& x, int resolution) {
  Tensor f = net.features(x);
  MM_CHECK(f.dim(1) % resolution == 0 && f.dim(2) % resolution == 0,
           "--dense-resolution {} does not divide the {}x{} feature map", resolution, f.dim(1), f.dim(2));
  if (f.dim(1) != resolution) f = avg_pool(f, static_cast<int>(f.dim(1) / resolution));
  return reshape(f, {f.dim(0), f.dim(1) * f.dim(2), f.dim(3)});
}

// Per-position logits of every example: z [m, r, d] -> [m, r, c] (the classifier as a 1x1 conv).
Tensor position_logits(Network& net, const Tensor& z) {
  const int64_t m = z.dim(0), r = z.dim(1), d = z.dim(2);
  Tensor l = net.classify(reshape(z, {m * r, d}));
  return reshape(l, {m, r, l.dim(1)});
}

// What a network computed in the student's pass that the teacher's pass and the loss reuse.
struct Mixed {
  Tensor logits;          // [m, c], [n, c] (multimix) or [r, n, c] (dense)
  Tensor mtilde;          // dense: the student's weights [r, m, n], also the teacher's
  Tensor column_weights;  // dense: s [r, n], the loss weights of the columns
};

// One method of docs/math.md §3: its draws, its mixed forward, its mixed targets and its loss.
// mixed_loss() below is the same for all; the student's and the teacher's passes share the draws.
class MixingMethod {
 public:
  virtual ~MixingMethod() = default;
  // This step's draws (d.method and d.layer are set), sampled on `device` with seeds from `random`.
  virtual void sample(Draws& d, const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W,
                      StepRandom& random, Device device) const = 0;
  // The draws as a probe batch file holds them, checked (m examples of H x W).
  virtual void read(Draws& d, const TensorFile& batch, int64_t m, int64_t H, int64_t W) const = 0;
  // The student's pass.
  virtual Mixed student(Network& net, const Tensor& x, const Tensor& labels, const Draws& d,
                        const MethodConfig& config) const = 0;
  // The teacher's pass, in two parts: teacher_encode() computes what does not depend on the
  // student's pass (on a GPU it may run beside it: --teacher-stream), teacher_logits() the
  // teacher's mixed logits from that and the student's Mixed.
  virtual Tensor teacher_encode(Network& net, const Tensor& x, const Draws& d, const MethodConfig& config) const = 0;
  virtual Tensor teacher_logits(Network& /*net*/, const Tensor& encoded, const Mixed& /*student*/) const {
    return encoded;
  }
  // The one-hot targets of labels I64 [m] mixed like the inputs, in `dtype` (no gradient).
  virtual Tensor targets(const Tensor& labels, int classes, const Draws& d, const Mixed& student, DType dtype) const = 0;
  // The loss of the student's logits against targets (rows are distributions).
  virtual Tensor loss(const Mixed& student, const Tensor& targets) const {
    return soft_cross_entropy(student.logits, targets);
  }
};

// The methods whose pass is a function of the view and the draws alone, the same for the student
// and the teacher: logits_of() is the whole of both.
class WholePassMethod : public MixingMethod {
 public:
  // A network's mixed logits of view x.
  virtual Tensor logits_of(Network& net, const Tensor& x, const Draws& d, const MethodConfig& config) const = 0;
  Mixed student(Network& net, const Tensor& x, const Tensor&, const Draws& d, const MethodConfig& config) const override {
    return {logits_of(net, x, d, config), Tensor(), Tensor()};
  }
  Tensor teacher_encode(Network& net, const Tensor& x, const Draws& d, const MethodConfig& config) const override {
    return logits_of(net, x, d, config);
  }
};

// ---- draws read from a probe batch file ----
Tensor read_lam(const TensorFile& batch) {
  const Tensor& l = batch.at("lam");
  MM_CHECK(l.numel() == 1 && l.dtype() == DType::F32 && 0 <= l.item() && l.item() <= 1,
           "{}: lam must be one F32 value in [0, 1]", batch.source);
  return l.view({});
}
Tensor read_perm(const TensorFile& batch, int64_t m) {
  check_permutation(batch.at("perm"), m, batch.source.c_str());
  return batch.at("perm");
}

class Erm : public WholePassMethod {
 public:
  void sample(Draws&, const MethodConfig&, const Network&, int64_t, int64_t, int64_t, StepRandom&, Device) const override {}
  void read(Draws&, const TensorFile&, int64_t, int64_t, int64_t) const override {}
  Tensor logits_of(Network& net, const Tensor& x, const Draws&, const MethodConfig&) const override {
    return net.forward(x);
  }
  Tensor targets(const Tensor& labels, int classes, const Draws&, const Mixed&, DType dtype) const override {
    return one_hot(labels, classes).to(dtype);
  }
};

// The methods that mix each example with a partner (perm) by lam: their targets mix alike.
class PairMixing : public WholePassMethod {
 public:
  Tensor targets(const Tensor& labels, int classes, const Draws& d, const Mixed&, DType dtype) const override {
    return mix_pairs(one_hot(labels, classes).to(dtype), d.perm, d.lam);
  }
};

class InputMixup : public PairMixing {
 public:
  void sample(Draws& d, const MethodConfig& config, const Network&, int64_t m, int64_t, int64_t, StepRandom& random,
              Device device) const override {
    d.lam = sample_beta(random.next_seed(), 1, config.mixup_alpha, config.mixup_alpha, device).view({});
    d.perm = sample_permutation(random.next_seed(), m, device);
  }
  void read(Draws& d, const TensorFile& batch, int64_t m, int64_t, int64_t) const override {
    d.lam = read_lam(batch);
    d.perm = read_perm(batch, m);
  }
  Tensor logits_of(Network& net, const Tensor& x, const Draws& d, const MethodConfig&) const override {
    return net.forward(mix_pairs(x, d.perm, d.lam));
  }
};

class ManifoldMixup : public PairMixing {
 public:
  void sample(Draws& d, const MethodConfig&, const Network&, int64_t m, int64_t, int64_t, StepRandom& random,
              Device device) const override {
    d.lam = sample_beta(random.next_seed(), 1, 2.0, 2.0, device).view({});
    d.perm = sample_permutation(random.next_seed(), m, device);
  }
  void read(Draws& d, const TensorFile& batch, int64_t m, int64_t, int64_t) const override {
    d.layer = static_cast<int>(batch.at("layer").item());
    MM_CHECK(0 <= d.layer && d.layer <= 2, "{}: manifold layer {} is not 0, 1 or 2", batch.source, d.layer);
    d.lam = read_lam(batch);
    d.perm = read_perm(batch, m);
  }
  Tensor logits_of(Network& net, const Tensor& x, const Draws& d, const MethodConfig&) const override {
    Tensor h = mix_pairs(net.run_stages(x, 0, d.layer), d.perm, d.lam);
    return net.classify(global_avg_pool(net.features(h, d.layer)));
  }
};

class Cutmix : public PairMixing {
 public:
  void sample(Draws& d, const MethodConfig&, const Network&, int64_t m, int64_t H, int64_t W, StepRandom& random,
              Device device) const override {
    d.perm = sample_permutation(random.next_seed(), m, device);
    CutmixDraw cutmix = sample_cutmix(random.next_seed(), H, W, device);
    d.box = cutmix.box;
    d.lam = cutmix.lam;
  }
  void read(Draws& d, const TensorFile& batch, int64_t m, int64_t H, int64_t W) const override {
    d.perm = read_perm(batch, m);
    d.box = batch.at("box");
    d.lam = Tensor::scalar(cutmix_lambda(d.box, H, W));  // checks the box
  }
  Tensor logits_of(Network& net, const Tensor& x, const Draws& d, const MethodConfig&) const override {
    return net.forward(cutmix_paste(x, d.perm, d.box));
  }
};

class MultiMix : public WholePassMethod {
 public:
  void sample(Draws& d, const MethodConfig& config, const Network&, int64_t m, int64_t, int64_t, StepRandom& random,
              Device device) const override {
    d.lambda = sample_dirichlet_lambda(random.next_seed(), m, config.n, config.alpha_lo, config.alpha_hi, device);
  }
  void read(Draws& d, const TensorFile& batch, int64_t, int64_t, int64_t) const override { d.lambda = batch.at("Lambda"); }
  Tensor logits_of(Network& net, const Tensor& x, const Draws& d, const MethodConfig& config) const override {
    const int last = net.num_stages() + 1;  // the embedding, after the head and pooling
    const int layer = config.mix_layer < 0 ? last : config.mix_layer;
    MM_CHECK(layer <= last, "--mix-layer {}: the model has layers 0..{}", layer, net.num_stages());
    if (layer == last) {
      Tensor z = net.embed(x);  // [m, d]
      // g(Lambda^T Z) = Lambda^T g(Z): columns of Lambda sum to 1, so the bias survives.
      return config.logit_path ? interpolate(net.classify(z), d.lambda) : net.classify(interpolate(z, d.lambda));
    }
    // an earlier layer: mix the flattened hidden states, then run the rest on the n tuples
    Tensor h = net.run_stages(x, 0, layer);
    Shape shape = h.shape();
    Tensor mixed = interpolate(reshape(h, {shape[0], h.numel() / shape[0]}), d.lambda);
    shape[0] = d.lambda.dim(1);
    return net.classify(global_avg_pool(net.features(reshape(mixed, shape), layer)));
  }
  Tensor targets(const Tensor& labels, int classes, const Draws& d, const Mixed&, DType dtype) const override {
    // Ytilde = Lambda^T Y
    const int64_t m = d.lambda.dim(0), n = d.lambda.dim(1);
    return mix_labels(labels, classes, d.lambda.view({1, m, n})).view({n, classes}).to(dtype);
  }
};

class DenseMultiMix : public MixingMethod {
 public:
  void sample(Draws& d, const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W,
              StepRandom& random, Device device) const override {
    d.lambda = sample_dirichlet_lambda_per_position(random.next_seed(), dense_positions(net, config, H, W), m, config.n,
                                                    config.alpha_lo, config.alpha_hi, device);
  }
  void read(Draws& d, const TensorFile& batch, int64_t, int64_t, int64_t) const override { d.lambda = batch.at("Lambda"); }
  // The student's pass: one forward gives the embeddings, the attention (a constant) and the
  // weights Mtilde, s that the teacher's pass and the loss reuse.
  Mixed student(Network& net, const Tensor& x, const Tensor& labels, const Draws& d,
                const MethodConfig& config) const override {
    Tensor z = dense_embedding(net, x, config.dense_resolution);
    MM_CHECK(d.lambda.ndim() == 3 && d.lambda.dim(0) == z.dim(1), "dense-multimix: Lambda must be [r = {}, m, n], got {}",
             z.dim(1), shape_str(d.lambda.shape()));
    DenseWeights w;
    {
      NoGrad no_grad;  // the attention, and so the weights, are constants for the gradient (project choice)
      w = dense_mixing_weights(z, labels, net.classifier().weight, config.attention, d.lambda);
    }
    return {interpolate_positions(position_logits(net, z), w.mtilde), w.mtilde, w.s};
  }
  // The teacher mixes with the student's weights Mtilde: only its embeddings are its own.
  Tensor teacher_encode(Network& net, const Tensor& x, const Draws&, const MethodConfig& config) const override {
    return dense_embedding(net, x, config.dense_resolution);
  }
  Tensor teacher_logits(Network& net, const Tensor& z, const Mixed& student) const override {
    return interpolate_positions(position_logits(net, z), student.mtilde);
  }
  Tensor targets(const Tensor& labels, int classes, const Draws&, const Mixed& student, DType dtype) const override {
    // Ytilde^j = Mtilde^j^T Y at every position j
    return mix_labels(labels, classes, student.mtilde).to(dtype);
  }
  Tensor loss(const Mixed& student, const Tensor& targets) const override {
    return dense_soft_cross_entropy(student.logits, targets, student.column_weights);
  }
};

const MixingMethod& mixing_method(Method method) {
  static const Erm erm;
  static const InputMixup mixup;
  static const ManifoldMixup manifold;
  static const Cutmix cutmix;
  static const MultiMix multimix;
  static const DenseMultiMix dense;
  static const MixingMethod* const all[] = {&erm, &mixup, &manifold, &cutmix, &multimix, &dense};
  return *all[static_cast<int>(method)];
}

}  // namespace

int64_t dense_positions(const Network& net, const MethodConfig& config, int64_t H, int64_t W) {
  const int64_t h = feature_side(net, H), w = feature_side(net, W), R = config.dense_resolution;
  MM_CHECK(R >= 1 && h % R == 0 && w % R == 0, "--dense-resolution {} does not divide the {}x{} feature map", R, h, w);
  return R * R;
}

Draws Draws::to(Device device) const {
  Draws d = *this;
  for (Tensor* t : {&d.lam, &d.perm, &d.box, &d.lambda})
    if (t->defined()) *t = t->to(device);
  return d;
}

Draws Draws::to(DType dtype) const {
  Draws d = *this;
  for (Tensor* t : {&d.lam, &d.lambda})
    if (t->defined()) *t = t->to(dtype);
  return d;
}

Draws read_draws(Method method, const TensorFile& batch) {
  const Tensor& images = batch.at("images");
  MM_CHECK(images.ndim() == 4, "{}: images must be [m, 3, H, W]", batch.source);
  Draws d;
  d.method = method;
  mixing_method(method).read(d, batch, images.dim(0), images.dim(2), images.dim(3));
  return d;
}

Draws choose_draws(const MethodConfig& config, Rng& decisions) {
  Draws d;
  d.method = config.method;
  const bool multimix = d.method == Method::MultiMix || d.method == Method::DenseMultiMix;
  if (multimix && config.mix_prob < 1.0 && decisions.uniform() >= config.mix_prob) d.method = Method::Mixup;
  if (d.method == Method::Manifold) d.layer = static_cast<int>(decisions.below(3));
  return d;
}

void sample_draws(Draws& d, const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W,
                  StepRandom& random, Device device) {
  mixing_method(d.method).sample(d, config, net, m, H, W, random, device);
}

Draws sample_draws(const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W, Rng& rng,
                   Device device) {
  Draws d = choose_draws(config, rng);
  StepRandom random{rng, Tensor()};
  sample_draws(d, config, net, m, H, W, random, device);
  return d;
}

StepResult mixed_loss(Network& student, Network* teacher, const Tensor& images, const Tensor& images2,
                      const Tensor& labels, int num_classes, const MethodConfig& config, const Draws& sampled,
                      PhaseClock& clock) {
  MM_CHECK(!config.distill || (teacher && images2.defined()), "distillation needs a teacher and a second view");
  // sampled draws are on the step's device already; read ones (probe, fixtures) move, their
  // floating values converted on the host to the images' dtype (float64 in probe --dtype float64).
  const Draws draws = sampled.to(images.dtype()).to(images.device());
  const MixingMethod& method = mixing_method(draws.method);
  // the teacher's inputs (view v', the draws) are ready here: its forward may start from this point
  SideStream teacher_stream(images.device(), config.distill && config.teacher_stream);
  const Mixed mixed = method.student(student, images, labels, draws, config);
  Tensor targets = method.targets(labels, num_classes, draws, mixed, mixed.logits.dtype());
  clock.end(Phase::Student);
  if (config.distill) {
    // gamma H(Y, P) + (1 - gamma) H(P', P) with the teacher's predictions P' on view v', mixed
    // alike. H is linear in its target, so this is H(gamma Y + (1 - gamma) P', P): one loss pass.
    NoGrad no_grad;
    teacher->train(true);
    teacher->update_running_stats(false);
    const Tensor encoded = teacher_stream.run([&] { return method.teacher_encode(*teacher, images2, draws, config); });
    Tensor t = method.teacher_logits(*teacher, encoded, mixed);
    Tensor teacher_probs = softmax(reshape(t, {t.numel() / t.dim(-1), t.dim(-1)})).view(t.shape());
    targets = add(scale(targets, config.gamma), scale(teacher_probs, 1.0 - config.gamma));
    clock.end(Phase::Teacher);
  }
  Tensor loss = method.loss(mixed, targets);
  clock.end(Phase::Loss);
  return {loss, mixed.logits};
}

}  // namespace mm
