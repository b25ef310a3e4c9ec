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

// What differs between methods: how a network's mixed logits are computed from a view. The
// student's and the teacher's passes share it, so both see the same draws (docs/math.md §3).
struct MixedForward {
  const MethodConfig& config;
  const Draws& draws;
  Tensor mtilde;  // dense: the student's weights, reused by the teacher

  Tensor operator()(Network& net, const Tensor& x) const {
    switch (draws.method) {
      case Method::Erm: return net.forward(x);
      case Method::Mixup: return net.forward(mix_pairs(x, draws.perm, draws.lam));
      case Method::Manifold: {
        Tensor h = mix_pairs(net.run_stages(x, 0, draws.layer), draws.perm, draws.lam);
        return net.classify(global_avg_pool(net.head(net.run_stages(h, draws.layer, net.num_stages()))));
      }
      case Method::Cutmix: return net.forward(cutmix_paste(x, draws.perm, draws.box));
      case Method::MultiMix: return multimix(net, x);
      case Method::DenseMultiMix:
        return interpolate_positions(position_logits(net, dense_embedding(net, x, config.dense_resolution)), mtilde);
    }
    return Tensor();
  }

  Tensor multimix(Network& net, const Tensor& x) const {
    const int last = net.num_stages() + 1;  // the embedding, after the head and pooling
    const int layer = config.mix_layer < 0 ? last : config.mix_layer;
    MM_CHECK(layer <= last, "--mix-layer {}: the model has layers 0..{}", layer, net.num_stages());
    if (layer == last) {
      Tensor z = net.embed(x);  // [m, d]
      // g(Lambda^T Z) = Lambda^T g(Z): columns of Lambda sum to 1, so the bias survives.
      return config.logit_path ? interpolate(net.classify(z), draws.lambda) : net.classify(interpolate(z, draws.lambda));
    }
    // an earlier layer: mix the flattened hidden states, then run the rest on the n tuples
    Tensor h = net.run_stages(x, 0, layer);
    Shape shape = h.shape();
    Tensor mixed = interpolate(reshape(h, {shape[0], h.numel() / shape[0]}), draws.lambda);
    shape[0] = draws.lambda.dim(1);
    return net.classify(global_avg_pool(net.head(net.run_stages(reshape(mixed, shape), layer, net.num_stages()))));
  }
};

// The one-hot targets of labels I64 [m] mixed like the inputs: [m, c] / [n, c] / [r, n, c], in
// the dtype of the logits.
Tensor mixed_targets(const Tensor& labels, int classes, const Draws& draws, const Tensor& mtilde, DType dtype) {
  NoGrad no_grad;
  const Tensor y = one_hot(labels, classes).to(dtype);
  switch (draws.method) {
    case Method::Erm: return y;
    case Method::Mixup:
    case Method::Manifold:
    case Method::Cutmix: return mix_pairs(y, draws.perm, draws.lam);
    case Method::MultiMix: return interpolate(y, draws.lambda);
    case Method::DenseMultiMix:  // Ytilde^j = Mtilde^j^T Y at every position j
      return interpolate_positions(one_hot_positions(labels, classes, mtilde.dim(0)).to(dtype), mtilde);
  }
  return Tensor();
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
  const int64_t m = images.dim(0), H = images.dim(2), W = images.dim(3);
  auto lam = [&] {
    const Tensor& l = batch.at("lam");
    MM_CHECK(l.numel() == 1 && l.dtype() == DType::F32 && 0 <= l.item() && l.item() <= 1,
             "{}: lam must be one F32 value in [0, 1]", batch.source);
    return l.view({});
  };
  auto perm = [&] {
    check_permutation(batch.at("perm"), m, batch.source.c_str());
    return batch.at("perm");
  };
  Draws d;
  d.method = method;
  switch (method) {
    case Method::Erm: break;
    case Method::Manifold:
      d.layer = static_cast<int>(batch.at("layer").item());
      MM_CHECK(0 <= d.layer && d.layer <= 2, "{}: manifold layer {} is not 0, 1 or 2", batch.source, d.layer);
      [[fallthrough]];
    case Method::Mixup:
      d.lam = lam();
      d.perm = perm();
      break;
    case Method::Cutmix:
      d.perm = perm();
      d.box = batch.at("box");
      d.lam = Tensor::scalar(cutmix_lambda(d.box, H, W));  // checks the box
      break;
    case Method::MultiMix:
    case Method::DenseMultiMix: d.lambda = batch.at("Lambda"); break;
  }
  return d;
}

Draws sample_draws(const MethodConfig& config, const Network& net, int64_t m, int64_t H, int64_t W, Rng& rng,
                   Device device) {
  Draws d;
  d.method = config.method;
  const bool multimix = d.method == Method::MultiMix || d.method == Method::DenseMultiMix;
  if (multimix && config.mix_prob < 1.0 && rng.uniform() >= config.mix_prob) d.method = Method::Mixup;
  switch (d.method) {
    case Method::Erm: break;
    case Method::Mixup:
      d.lam = sample_beta(rng.next_u64(), 1, config.mixup_alpha, config.mixup_alpha, device).view({});
      d.perm = sample_permutation(rng.next_u64(), m, device);
      break;
    case Method::Manifold:
      d.lam = sample_beta(rng.next_u64(), 1, 2.0, 2.0, device).view({});
      d.perm = sample_permutation(rng.next_u64(), m, device);
      d.layer = static_cast<int>(rng.below(3));
      break;
    case Method::Cutmix: {
      d.perm = sample_permutation(rng.next_u64(), m, device);
      CutmixDraw cutmix = sample_cutmix(rng.next_u64(), H, W, device);
      d.box = cutmix.box;
      d.lam = cutmix.lam;
      break;
    }
    case Method::MultiMix:
      d.lambda = sample_dirichlet_lambda(rng.next_u64(), m, config.n, config.alpha_lo, config.alpha_hi, device);
      break;
    case Method::DenseMultiMix:
      d.lambda = sample_dirichlet_lambda_per_position(rng.next_u64(), dense_positions(net, config, H, W), m, config.n,
                                                      config.alpha_lo, config.alpha_hi, device);
      break;
  }
  return d;
}

StepResult mixed_loss(Network& student, Network* teacher, const Tensor& images, const Tensor& images2,
                      const Tensor& labels, int num_classes, const MethodConfig& config, const Draws& sampled) {
  MM_CHECK(!config.distill || (teacher && images2.defined()), "distillation needs a teacher and a second view");
  // sampled draws are on the step's device already; read ones (probe, fixtures) move, their
  // floating values converted on the host to the images' dtype (float64 in probe --dtype float64).
  const Draws draws = sampled.to(images.dtype()).to(images.device());
  MixedForward forward{config, draws, Tensor()};
  Tensor weights_s;  // dense: per-position column weights [r, n]
  Tensor logits;
  if (draws.method == Method::DenseMultiMix) {
    Tensor z = dense_embedding(student, images, config.dense_resolution);
    Tensor attention;
    {
      NoGrad no_grad;  // attention is a constant for the gradient (project choice)
      attention = dense_attention(z, labels, student.classifier().weight, config.attention);
    }
    MM_CHECK(draws.lambda.ndim() == 3 && draws.lambda.dim(0) == z.dim(1),
             "dense-multimix: Lambda must be [r = {}, m, n], got {}", z.dim(1), shape_str(draws.lambda.shape()));
    DenseWeights w = dense_weights(attention, draws.lambda);
    forward.mtilde = w.mtilde;
    weights_s = w.s;
    logits = interpolate_positions(position_logits(student, z), w.mtilde);
  } else {
    logits = forward(student, images);
  }
  const Tensor targets = mixed_targets(labels, num_classes, draws, forward.mtilde, logits.dtype());
  auto cross_entropy_with = [&](const Tensor& t) {
    return draws.method == Method::DenseMultiMix ? dense_soft_cross_entropy(logits, t, weights_s)
                                                 : soft_cross_entropy(logits, t);
  };
  Tensor loss = cross_entropy_with(targets);
  if (config.distill) {
    Tensor teacher_probs;
    {
      NoGrad no_grad;
      teacher->train(true);
      teacher->update_running_stats(false);
      Tensor t = forward(*teacher, images2);
      teacher_probs = softmax(reshape(t, {t.numel() / t.dim(-1), t.dim(-1)})).view(t.shape());
    }
    loss = add(scale(loss, config.gamma), scale(cross_entropy_with(teacher_probs), 1.0 - config.gamma));
  }
  return {loss, logits};
}

}  // namespace mm
