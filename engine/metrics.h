#pragma once
// Accuracy counts for evaluation (docs/math.md §4: top-1 and top-5).
#include <vector>

#include "engine/tensor.h"

namespace mm {

// logits: F32 [N, C] on any device, labels: I64 [N] -> the number of rows whose label is among the
// k highest logits. Ties go to the smaller class index, as an argmax does, so k = 1 counts the
// rows whose argmax is the label. A row holding a NaN is never a hit. Requires 1 <= k.
int64_t count_top_k(const Tensor& logits, const Tensor& labels, int k);

}  // namespace mm

namespace mm {

// Out-of-distribution detection with a score that should be higher in distribution (docs/math.md §4: the
// maximum softmax probability), in-distribution examples counting as positives.
struct OodDetection {
  double detection_accuracy;  // max over thresholds of (TPR + TNR) / 2
  double auroc;               // P(s_in > s_out) + P(s_in = s_out) / 2
  double aupr_in;             // average precision, in-distribution positive
  double aupr_out;            // average precision, out-of-distribution positive (scores negated)
  // The curves, in-distribution positive, one point per distinct threshold from the highest score
  // down: the ROC (false and true positive rates, from (0, 0) to (1, 1)) and precision against recall.
  std::vector<double> fpr, tpr, recall, precision;
};
// Requires both sets non-empty.
OodDetection ood_detection(const std::vector<double>& in_scores, const std::vector<double>& out_scores);

// Embedding-space metrics of Wang & Isola (2020) on the L2-normalised rows e_i of embeddings
// F32 [N, d] (docs/math.md §4). alignment: the mean of ||e_i - e_j||^2 over same-class pairs i != j
// (labels I64 [N]); uniformity: log of the mean of exp(-t ||e_i - e_j||^2) over all pairs i != j.
double alignment(const Tensor& embeddings, const Tensor& labels);
double uniformity(const Tensor& embeddings, double t = 2.0);

}  // namespace mm
