#pragma once
// evaluate's page: what it printed as a table (accuracy, FGSM and PGD errors, the OOD metrics,
// alignment and uniformity), the ROC and precision-recall curves of the OOD detection, and a 2-D
// map of the test embeddings of (up to) 10 classes, as in the paper's Figure 4.
#include <map>
#include <string>
#include <vector>

#include "engine/metrics.h"

namespace mm {

struct EvaluationPage {
  std::string title;
  std::vector<std::pair<std::string, std::string>> about;  // model, checkpoint, data, ...
  std::map<std::string, double> results;                    // as in evaluate --out
  const OodDetection* ood = nullptr;                        // the curves, when there was an OOD set
  std::string ood_name;
  std::string map_method;             // "t-SNE" or "PCA"; empty: no map
  std::vector<double> map;            // [n][2] points
  std::vector<int64_t> map_labels;    // [n] their classes
};

std::string evaluation_report(const EvaluationPage& page);

// At most `limit` points of a curve, evenly spread, the last one kept (a page need not draw 10 000).
void thin_curve(std::vector<double>& x, std::vector<double>& y, size_t limit = 400);

}  // namespace mm
