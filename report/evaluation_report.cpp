#include "report/evaluation_report.h"

#include <fmt/format.h>

#include "report/plot.h"

namespace mm {

void thin_curve(std::vector<double>& x, std::vector<double>& y, size_t limit) {
  if (x.size() <= limit) return;
  std::vector<double> tx, ty;
  for (size_t k = 0; k < limit; ++k) {
    const size_t i = k * (x.size() - 1) / (limit - 1);
    tx.push_back(x[i]), ty.push_back(y[i]);
  }
  x.swap(tx), y.swap(ty);
}

std::string evaluation_report(const EvaluationPage& page) {
  std::string body = plot::key_value_table(page.about);
  // the results in the order evaluate prints them
  const std::vector<std::pair<const char*, const char*>> names{
      {"top1", "top-1 accuracy (%)"},          {"top5", "top-5 accuracy (%)"},
      {"fgsm_error", "FGSM top-1 error (%)"},  {"pgd_error", "PGD top-1 error (%)"},
      {"ood_detection_accuracy", "OOD detection accuracy (%)"}, {"ood_auroc", "OOD AuROC (%)"},
      {"ood_aupr_in", "OOD AuPR-in (%)"},      {"ood_aupr_out", "OOD AuPR-out (%)"},
      {"alignment", "alignment"},              {"uniformity", "uniformity"}};
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [key, name] : names) {
    auto it = page.results.find(key);
    if (it != page.results.end()) rows.push_back({name, fmt::format("{:.4g}", it->second)});
  }
  if (page.ood) rows.push_back({"OOD set (in-distribution: the positives)", page.ood_name});
  body += "<h2>Results</h2>\n" + plot::key_value_table(rows) + "<div class=\"charts\">\n";
  if (page.ood) {
    std::vector<double> fpr = page.ood->fpr, tpr = page.ood->tpr, recall = page.ood->recall, precision = page.ood->precision;
    thin_curve(fpr, tpr);
    thin_curve(recall, precision);
    plot::Chart roc;
    roc.title = "OOD detection: ROC";
    roc.x_label = "false positive rate", roc.y_label = "true positive rate";
    roc.series = {{fmt::format("max softmax (AuROC {:.1f} %)", 100 * page.ood->auroc), fpr, tpr},
                  {"chance", {0, 1}, {0, 1}, true}};
    plot::Chart pr;
    pr.title = "OOD detection: precision-recall";
    pr.x_label = "recall", pr.y_label = "precision";
    pr.series = {{fmt::format("max softmax (AuPR-in {:.1f} %)", 100 * page.ood->aupr_in), recall, precision}};
    body += plot::svg(roc) + plot::svg(pr);
  }
  if (!page.map.empty()) {
    plot::Chart map;
    map.title = "Test embeddings, " + page.map_method;
    map.x_label = "1st coordinate", map.y_label = "2nd coordinate";
    map.equal_axes = true;
    map.width = 560, map.height = 480;
    std::map<int64_t, plot::Series> by_class;
    for (size_t i = 0; i < page.map_labels.size(); ++i) {
      plot::Series& s = by_class[page.map_labels[i]];
      s.name = fmt::format("class {}", page.map_labels[i]);
      s.line = false;
      s.x.push_back(page.map[2 * i]), s.y.push_back(page.map[2 * i + 1]);
    }
    for (auto& [label, s] : by_class) map.series.push_back(std::move(s));
    body += plot::svg(map);
  }
  body += "</div>\n";
  return plot::html_page(page.title, body);
}

}  // namespace mm
