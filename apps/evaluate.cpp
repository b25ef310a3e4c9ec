// evaluate: the evaluation of docs/math.md §4 for a train_cifar checkpoint, with BN in evaluation mode.
//   accuracy     top-1 and top-5 on the test split
//   robustness   top-1 error under FGSM (eps 8/255, one step) and PGD (eps 4/255, step 2/255,
//                20 iterations, random start), in [0, 1] pixel space with the normalisation inside
//                the model (models/attacks.h)
//   OOD          detection of another dataset's test split by the maximum softmax probability:
//                detection accuracy, AuROC, AuPR (engine/metrics.h)
//   embeddings   alignment and uniformity (Wang & Isola 2020) of the normalised embeddings
// Prints one line per result; --out also writes them as one JSON object.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "apps/flags.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/json.h"
#include "engine/metrics.h"
#include "engine/ops.h"
#include "models/attacks.h"
#include "report/embedding_map.h"
#include "report/evaluation_report.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace mm {
namespace {

// docs/math.md §4.
constexpr double kFgsmEps = 8.0 / 255, kPgdEps = 4.0 / 255, kPgdStep = 2.0 / 255;

void declare_flags(Flags& f) {
  f.add("checkpoint", "", "a train_cifar checkpoint (OUT/best.safetensors or OUT/last.safetensors)");
  f.add_switch("teacher", "evaluate the checkpoint's EMA teacher (runs with --distill) instead of the student");
  f.add("data", "", "dataset directory (default: the one the checkpoint was trained on)");
  f.add("dataset", "", "cifar10 | cifar100 | folder | fashion-mnist | auto (default: the checkpoint's)");
  f.add("limit-test", "0", "use only N test images (0: all)");
  f.add("batch-size", "200", "images per forward pass");
  f.add("device", "auto", "auto | cpu | cuda");
  add_cpu_conv_flag(f);
  add_precision_flag(f, /*training=*/false);
  f.add("attacks", "fgsm,pgd", "robustness: fgsm,pgd | fgsm | pgd | none");
  f.add("pgd-steps", "20", "PGD iterations");
  f.add("seed", "0", "seed of PGD's random start");
  f.add("ood-data", "", "out-of-distribution dataset directory (its test split); none: no OOD detection");
  f.add("ood-dataset", "auto", "its kind: cifar10 | cifar100 | folder | fashion-mnist | auto");
  f.add("out", "", "also write the results to this JSON file");
  f.add("report", "auto", "the results as a page (auto: next to the checkpoint, NAME.evaluate.html; none: no page)");
  f.add("map", "tsne", "the page's 2-D map of the test embeddings: tsne | pca | none");
  f.add("map-points", "1000", "test images on the map, spread evenly, of the first 10 classes");
}

struct Attacks {
  bool fgsm = false, pgd = false;
};
Attacks parse_attacks(const std::string& list) {
  Attacks a;
  if (list == "none") return a;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string name = list.substr(pos, comma - pos);
    MM_CHECK(name == "fgsm" || name == "pgd", "--attacks: unknown attack '{}' (fgsm, pgd or none)", name);
    (name == "fgsm" ? a.fgsm : a.pgd) = true;
    pos = comma + 1;
  }
  return a;
}

// The scores the network gives a split, a batch at a time.
struct SplitResults {
  AccuracyCounter accuracy;
  int64_t fgsm_correct = 0, pgd_correct = 0;
  std::vector<double> max_softmax;  // per image
  Tensor embeddings;                // F32 [N, d] on the host
};

SplitResults run_split(Network& net, const Dataset& data, int batch_size, Device device, Attacks attacks,
                       int pgd_steps, uint64_t seed, const char* what) {
  const PixelClassifier logits_of = [&](const Tensor& x) { return net.forward(normalise_pixels(x)); };
  const int64_t N = data.size();
  SplitResults r;
  r.embeddings = Tensor::empty({N, net.embedding_dim()});
  // progress on stderr: rewritten in place on a terminal, else a line per tenth of the split (an
  // attack on 10 000 images takes a while on a CPU)
  const bool tty = isatty(fileno(stderr));
  const auto start = std::chrono::steady_clock::now();
  int64_t next_report = N / 10;
  for (int64_t begin = 0; begin < N; begin += batch_size) {
    const int64_t end = std::min<int64_t>(begin + batch_size, N);
    const Tensor x = pixels_of(data.images, begin, end).to(device);
    const Tensor labels = data.labels.slice_rows(begin, end).clone();
    {
      NoGrad no_grad;
      const Tensor z = net.embed(normalise_pixels(x));
      const Tensor logits = net.classify(z).to(cpu());
      r.embeddings.slice_rows(begin, end).copy_from(z.to(cpu()));
      r.accuracy.add(logits, labels);
      const Tensor p = softmax(logits);
      for (int64_t i = 0; i < p.dim(0); ++i) {
        const float* row = p.data<float>() + i * p.dim(1);
        r.max_softmax.push_back(*std::max_element(row, row + p.dim(1)));
      }
    }
    const Tensor device_labels = labels.to(device);
    auto correct_on = [&](const Tensor& adv) {
      NoGrad no_grad;
      return count_top_k(logits_of(adv).to(cpu()), labels, 1);
    };
    if (attacks.fgsm) r.fgsm_correct += correct_on(fgsm(logits_of, x, device_labels, kFgsmEps));
    if (attacks.pgd) {
      const Tensor start = sample_pgd_start(x.shape(), kPgdEps, seed, begin);
      r.pgd_correct += correct_on(pgd(logits_of, x, device_labels, kPgdEps, kPgdStep, pgd_steps, start));
    }
    if (tty || end >= next_report) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "%s%s: %ld/%ld images, %.0fs, ETA %.0fs%s", tty ? "\r" : "", what, end, N, seconds,
                   seconds * static_cast<double>(N - end) / static_cast<double>(end), tty ? "" : "\n");
      while (next_report <= end) next_report += std::max<int64_t>(1, N / 10);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  return r;
}

int run(int argc, char** argv) {
  Flags flags("evaluate", "Evaluates a train_cifar checkpoint as docs/math.md §4 describes.");
  declare_flags(flags);
  if (!flags.parse(argc, argv)) return 0;
  const std::string path = flags.required("checkpoint");
  const Attacks attacks = parse_attacks(flags.str("attacks"));
  const int batch_size = flags.integer("batch-size", 1, 1 << 20), pgd_steps = flags.integer("pgd-steps", 1, 1 << 20);
  const uint64_t seed = static_cast<uint64_t>(flags.integer64("seed", 0, INT64_MAX));
  const int64_t limit_test = flags.integer64("limit-test", 0, INT64_MAX);
  const Device device = parse_device(flags.str("device"));
  const Precision precision = precision_flag(flags, device, /*training=*/false);
  apply_cpu_conv_flag(flags);
  const std::string map = flags.str("map");
  MM_CHECK(map == "tsne" || map == "pca" || map == "none", "--map: tsne, pca or none, got '{}'", map);
  const int map_points = flags.integer("map-points", 2, 20000);
  std::string report = flags.str("report");
  if (report == "auto") {
    const std::filesystem::path p(path);
    report = (p.parent_path() / (p.stem().string() + (flags.on("teacher") ? ".teacher" : "") + ".evaluate.html")).string();
  }
  for (const std::string& file : {flags.str("out"), report == "none" ? std::string() : report}) {
    if (!file.empty()) check_writable(file, file);  // a bad path fails now, not after the evaluation
  }

  CheckpointInfo info;
  auto net = load_checkpoint_network(path, flags.on("teacher"), &info);
  net->train(false);
  for (Tensor p : net->parameters()) p.set_requires_grad(false);  // the attacks need input gradients only
  net->to(device);
  apply_precision(precision, device, {net.get()});
  const json::Value config = json::parse(info.config_json);
  auto from_run = [&](const char* flag) {
    return flags.given(flag) || !config.has(flag) ? flags.str(flag) : config.at(flag).string;
  };
  const std::string data_dir = from_run("data");
  MM_CHECK(flags.given("data") || data_dir.empty() || std::filesystem::exists(data_dir),
           "the checkpoint was trained on '{}', which is not there from here: give its place with --data", data_dir);
  // the test split only: evaluation never needs the training images
  DataSplits data = load_dataset(from_run("dataset"), data_dir, Splits::TestOnly);
  data.test = data.test.subset(limit_test);
  MM_CHECK(data.test.num_classes == info.num_classes, "{} has {} classes, the checkpoint's model {}", data.name,
           data.test.num_classes, info.num_classes);
  // the OOD split is read before the long work starts, so a bad path fails at once
  DataSplits ood;
  if (flags.given("ood-data")) {
    ood = load_dataset(flags.str("ood-dataset"), flags.str("ood-data"), Splits::TestOnly);
    ood.test = ood.test.subset(limit_test);
    MM_CHECK(ood.test.images.dim(1) == data.test.images.dim(1) && ood.test.images.dim(2) == data.test.images.dim(2),
             "{} has {}x{} images, the test split {}x{}", ood.name, ood.test.images.dim(2), ood.test.images.dim(1),
             data.test.images.dim(2), data.test.images.dim(1));
  }
  std::printf("model: %s width %d (%s) from %s, epoch %d; device %s\n", info.model.c_str(), info.width,
              flags.on("teacher") ? "EMA teacher" : "student", path.c_str(), info.epoch, device.str().c_str());
  std::printf("data: %s: %ld test images\n", data.name.c_str(), data.test.size());

  const SplitResults in = run_split(*net, data.test, batch_size, device, attacks, pgd_steps, seed, "test");
  const double n = static_cast<double>(data.test.size());
  std::map<std::string, double> results{{"top1", in.accuracy.top1_percent()}, {"top5", in.accuracy.top5_percent()}};
  std::printf("accuracy: top-1 %.2f%% (error %.2f%%), top-5 %.2f%%\n", results["top1"], 100 - results["top1"],
              results["top5"]);
  if (attacks.fgsm) {
    results["fgsm_error"] = 100 - 100 * in.fgsm_correct / n;
    std::printf("FGSM (eps 8/255): top-1 error %.2f%%\n", results["fgsm_error"]);
  }
  if (attacks.pgd) {
    results["pgd_error"] = 100 - 100 * in.pgd_correct / n;
    std::printf("PGD-%d (eps 4/255, step 2/255, random start): top-1 error %.2f%%\n", pgd_steps, results["pgd_error"]);
  }
  OodDetection d{};
  if (ood.test.size() > 0) {
    const SplitResults out = run_split(*net, ood.test, batch_size, device, Attacks{}, 0, seed, "OOD");
    d = ood_detection(in.max_softmax, out.max_softmax);
    results.insert({{"ood_detection_accuracy", 100 * d.detection_accuracy},
                    {"ood_auroc", 100 * d.auroc},
                    {"ood_aupr_in", 100 * d.aupr_in},
                    {"ood_aupr_out", 100 * d.aupr_out}});
    std::printf("OOD (max softmax) against %s: detection accuracy %.2f%%, AuROC %.2f%%, AuPR-in %.2f%%, AuPR-out %.2f%%\n",
                ood.name.c_str(), 100 * d.detection_accuracy, 100 * d.auroc, 100 * d.aupr_in, 100 * d.aupr_out);
  }
  results["alignment"] = alignment(in.embeddings, data.test.labels);
  results["uniformity"] = uniformity(in.embeddings);
  std::printf("embeddings: alignment %.4f, uniformity %.4f\n", results["alignment"], results["uniformity"]);

  if (report != "none") {
    EvaluationPage page;
    page.title = fmt::format("evaluate: {}{}", path, flags.on("teacher") ? " (EMA teacher)" : "");
    page.about = {{"model", fmt::format("{} width {}, {} classes, {} norm", info.model, info.width, info.num_classes, info.norm)},
                  {"checkpoint", fmt::format("{} (epoch {})", path, info.epoch)},
                  {"network", flags.on("teacher") ? "EMA teacher" : "student"},
                  {"data", fmt::format("{}: {} test images", data.name, data.test.size())},
                  {"device", device.str()},
                  {"precision", precision_name(precision)}};
    page.results = results;
    if (ood.test.size() > 0) page.ood = &d, page.ood_name = ood.name;
    if (map != "none") {
      // up to map_points test images of the first 10 classes, spread evenly over the split
      std::vector<int64_t> rows;
      const auto labels = data.test.labels.to_doubles();
      for (int64_t i = 0; i < data.test.size(); ++i)
        if (labels[i] < 10) rows.push_back(i);
      std::vector<int64_t> picked;
      const int64_t n = std::min<int64_t>(map_points, static_cast<int64_t>(rows.size()));
      for (int64_t k = 0; k < n; ++k) picked.push_back(rows[k * static_cast<int64_t>(rows.size()) / n]);
      Tensor points = Tensor::empty({n, in.embeddings.dim(1)});
      for (int64_t k = 0; k < n; ++k) {
        points.slice_rows(k, k + 1).copy_from(in.embeddings.slice_rows(picked[k], picked[k] + 1));
        page.map_labels.push_back(static_cast<int64_t>(labels[picked[k]]));
      }
      if (n >= 2) {
        std::fprintf(stderr, "map: %s of %ld test embeddings\n", map == "tsne" ? "t-SNE" : "PCA", n);
        page.map_method = map == "tsne" ? "t-SNE" : "PCA";
        page.map = map == "tsne" ? tsne_2d(points, seed, std::min(30.0, (n - 1) / 3.0)) : pca_2d(points);
      }
    }
    write_text_atomically(report, evaluation_report(page));
    std::printf("the page is %s\n", report.c_str());
  }
  if (flags.given("out")) {
    std::string text = "{";
    for (const auto& [key, value] : results) text += fmt::format("{}{}:{:.6g}", text.size() > 1 ? "," : "", json::quote(key), value);
    write_text_atomically(flags.str("out"), text + "}\n");
    std::printf("results are in %s\n", flags.str("out").c_str());
  }
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("evaluate", argc, argv, mm::run); }
