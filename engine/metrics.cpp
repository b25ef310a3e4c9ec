#include "engine/metrics.h"

#include <algorithm>
#include <cmath>

#include "engine/blas.h"

namespace mm {

int64_t count_top_k(const Tensor& logits, const Tensor& labels, int k) {
  MM_CHECK(logits.ndim() == 2 && logits.dtype() == DType::F32, "count_top_k: logits must be F32 [N, C], got {} {}",
           dtype_name(logits.dtype()), shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, "count_top_k labels");
  MM_CHECK(labels.dtype() == DType::I64 && k >= 1, "count_top_k: labels must be I64 and k >= 1");
  const Tensor z = logits.to(cpu()), y = labels.to(cpu());
  const int64_t N = z.dim(0), C = z.dim(1);
  int64_t hits = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = z.data<float>() + i * C;
    const int64_t label = y.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < C, "count_top_k: label {} of row {} is outside [0, {})", label, i, C);
    // a row with a NaN predicts nothing (every comparison with NaN is false: it would rank first)
    if (std::any_of(row, row + C, [](float v) { return std::isnan(v); })) continue;
    // the label's rank: the classes an argmax would prefer to it
    int64_t rank = 0;
    for (int64_t c = 0; c < C; ++c) rank += row[c] > row[label] || (row[c] == row[label] && c < label);
    hits += rank < k;
  }
  return hits;
}

namespace {

// The scores of both sets, sorted, as groups of equal score: how many of each set hold it.
struct ScoreGroup {
  double score;
  int64_t in = 0, out = 0;
};
std::vector<ScoreGroup> ascending_groups(const std::vector<double>& in_scores, const std::vector<double>& out_scores) {
  std::vector<std::pair<double, bool>> all;
  for (double s : in_scores) all.push_back({s, true});
  for (double s : out_scores) all.push_back({s, false});
  std::sort(all.begin(), all.end());
  std::vector<ScoreGroup> groups;
  for (const auto& [score, is_in] : all) {
    MM_CHECK(!std::isnan(score), "ood_detection: a score is NaN");
    if (groups.empty() || groups.back().score != score) groups.push_back({score});
    (is_in ? groups.back().in : groups.back().out) += 1;
  }
  return groups;
}

// Average precision (the area under the precision-recall curve as sums of precision x recall
// steps, one threshold per group), visiting the groups from the most to the least positive.
template <class Groups, class Positives>
double average_precision(const Groups& most_positive_first, Positives positives, int64_t total_positives) {
  double ap = 0;
  int64_t tp = 0, seen = 0;
  for (const ScoreGroup& g : most_positive_first) {
    const int64_t p = positives(g);
    tp += p;
    seen += g.in + g.out;
    ap += double(p) / total_positives * (double(tp) / seen);
  }
  return ap;
}

// Rows of F32 [N, d] scaled to unit length, in double (a zero row stays zero).
std::vector<double> unit_rows(const Tensor& embeddings, int64_t& N, int64_t& d) {
  MM_CHECK(embeddings.ndim() == 2 && embeddings.dtype() == DType::F32, "embeddings must be F32 [N, d], got {} {}",
           dtype_name(embeddings.dtype()), shape_str(embeddings.shape()));
  const std::vector<double> v = embeddings.to_doubles();
  N = embeddings.dim(0), d = embeddings.dim(1);
  std::vector<double> e(v.size());
  for (int64_t i = 0; i < N; ++i) {
    double norm2 = 0;
    for (int64_t k = 0; k < d; ++k) norm2 += v[i * d + k] * v[i * d + k];
    const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
    for (int64_t k = 0; k < d; ++k) e[i * d + k] = v[i * d + k] * inv;
  }
  return e;
}

}  // namespace

OodDetection ood_detection(const std::vector<double>& in_scores, const std::vector<double>& out_scores) {
  MM_CHECK(!in_scores.empty() && !out_scores.empty(), "ood_detection: {} in-distribution and {} OOD scores",
           in_scores.size(), out_scores.size());
  const double n_in = double(in_scores.size()), n_out = double(out_scores.size());
  const std::vector<ScoreGroup> groups = ascending_groups(in_scores, out_scores);
  OodDetection r{};
  // ascending: a threshold below each group calls the group and everything above it "in"
  int64_t in_below = 0, out_below = 0;
  double pairs_won = 0;
  for (const ScoreGroup& g : groups) {
    r.detection_accuracy = std::max(r.detection_accuracy, 0.5 * ((1.0 - in_below / n_in) + out_below / n_out));
    pairs_won += g.in * (out_below + 0.5 * g.out);
    in_below += g.in;
    out_below += g.out;
  }
  r.detection_accuracy = std::max(r.detection_accuracy, 0.5);  // the threshold above every score
  r.auroc = pairs_won / (n_in * n_out);
  // the curves: thresholds from above the highest score down to below the lowest
  double in_above = 0, out_above = 0;
  r.fpr.push_back(0), r.tpr.push_back(0);
  for (auto g = groups.rbegin(); g != groups.rend(); ++g) {
    in_above += g->in, out_above += g->out;
    r.fpr.push_back(out_above / n_out), r.tpr.push_back(in_above / n_in);
    r.recall.push_back(in_above / n_in), r.precision.push_back(in_above / (in_above + out_above));
  }
  r.aupr_in = average_precision(std::vector<ScoreGroup>(groups.rbegin(), groups.rend()),
                                [](const ScoreGroup& g) { return g.in; }, in_scores.size());
  r.aupr_out = average_precision(groups, [](const ScoreGroup& g) { return g.out; }, out_scores.size());
  return r;
}

double alignment(const Tensor& embeddings, const Tensor& labels) {
  int64_t N, d;
  const std::vector<double> e = unit_rows(embeddings, N, d);
  check_shape(labels, {N}, "alignment labels");
  const std::vector<double> y = labels.to_doubles();
  // per class c: sum over ordered pairs i != j of ||e_i - e_j||^2 = 2 n_c sum_i ||e_i||^2 - 2 ||sum_i e_i||^2
  const int64_t classes = N ? static_cast<int64_t>(*std::max_element(y.begin(), y.end())) + 1 : 0;
  std::vector<double> sums(classes * d, 0.0), norms2(classes, 0.0), counts(classes, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t c = static_cast<int64_t>(y[i]);
    MM_CHECK(c >= 0, "alignment: label {} of row {} is negative", c, i);
    counts[c] += 1;
    for (int64_t k = 0; k < d; ++k) sums[c * d + k] += e[i * d + k], norms2[c] += e[i * d + k] * e[i * d + k];
  }
  double total = 0, pairs = 0;
  for (int64_t c = 0; c < classes; ++c) {
    double s2 = 0;
    for (int64_t k = 0; k < d; ++k) s2 += sums[c * d + k] * sums[c * d + k];
    total += 2 * counts[c] * norms2[c] - 2 * s2;
    pairs += counts[c] * (counts[c] - 1);
  }
  MM_CHECK(pairs > 0, "alignment: no class has two examples");
  return total / pairs;
}

double uniformity(const Tensor& embeddings, double t) {
  int64_t N, d;
  const std::vector<double> e = unit_rows(embeddings, N, d);
  MM_CHECK(N >= 2, "uniformity: needs two embeddings, got {}", N);
  std::vector<double> sq(N);
  for (int64_t i = 0; i < N; ++i) {
    sq[i] = 0;
    for (int64_t k = 0; k < d; ++k) sq[i] += e[i * d + k] * e[i * d + k];
  }
  // ||e_i - e_j||^2 = sq_i + sq_j - 2 e_i . e_j, the dot products a block of rows at a time
  constexpr int64_t kBlock = 256;
  std::vector<double> gram(kBlock * N);
  double total = 0;
  for (int64_t b = 0; b < N; b += kBlock) {
    const int64_t rows = std::min(kBlock, N - b);
    blas::gemm(false, true, int(rows), int(N), int(d), 1.0, e.data() + b * d, int(d), e.data(), int(d), 0.0,
               gram.data(), int(N));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < N; ++j)
        if (b + i != j) total += std::exp(-t * std::max(0.0, sq[b + i] + sq[j] - 2 * gram[i * N + j]));
  }
  return std::log(total / (double(N) * double(N - 1)));
}

}  // namespace mm
