#include "report/training_report.h"

#include <fmt/format.h>

#include <sstream>

#include "engine/json.h"
#include "report/plot.h"

namespace mm {
namespace {

std::string duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h {:02}m", s / 3600, s / 60 % 60) : fmt::format("{}m {:02}s", s / 60, s % 60);
}

}  // namespace

std::string training_report(const RunDescription& run, const std::string& metrics_jsonl) {
  std::vector<json::Value> rows;
  std::istringstream lines(metrics_jsonl);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  // one series per metric: x = epoch
  auto series = [&](const char* key, const std::string& name, bool dashed = false) {
    plot::Series s{name, {}, {}, dashed, rows.size() <= 30};
    for (const auto& r : rows)
      if (r.has(key)) s.x.push_back(r.at("epoch").number), s.y.push_back(r.at(key).number);
    return s;
  };
  std::string body;
  double elapsed = 0;
  for (const auto& r : rows) elapsed += r.at("seconds").number;
  const int done = static_cast<int>(rows.size());
  std::vector<std::pair<std::string, std::string>> summary{
      {"epochs", fmt::format("{} of {}", done, run.epochs)},
      {"elapsed", duration(elapsed)},
      {"ETA", done ? duration(elapsed / done * (run.epochs - done)) : "after the first epoch"},
      {"device", run.device},
      {"data", run.data}};
  if (done) {
    const auto& last = rows.back();
    summary.push_back({"last top-1", fmt::format("{:.2f} %", last.at("top1").number)});
    summary.push_back({"best top-1", fmt::format("{:.2f} %", last.at("best_top1").number)});
    if (last.has("teacher_top1")) summary.push_back({"teacher top-1", fmt::format("{:.2f} %", last.at("teacher_top1").number)});
  }
  body += plot::key_value_table(summary);
  if (done) {
    body += "<div class=\"charts\">\n";
    auto chart = [](const char* title, const char* y_label, std::vector<plot::Series> lines) {
      plot::Chart c;
      c.title = title, c.x_label = "epoch", c.y_label = y_label, c.series = std::move(lines);
      return c;
    };
    plot::Chart loss = chart("Loss", "cross-entropy", {series("train_loss", "train"), series("test_loss", "test", true)});
    if (rows.back().has("teacher_test_loss")) loss.series.push_back(series("teacher_test_loss", "teacher test", true));
    body += plot::svg(loss);
    plot::Chart accuracy = chart("Test accuracy", "%", {series("top1", "top-1"), series("top5", "top-5", true)});
    if (rows.back().has("teacher_top1")) accuracy.series.push_back(series("teacher_top1", "teacher top-1"));
    size_t best = 0;
    for (size_t i = 1; i < rows.size(); ++i)
      if (rows[i].at("top1").number > rows[best].at("top1").number) best = i;
    accuracy.marks.push_back({rows[best].at("epoch").number, rows[best].at("top1").number,
                              fmt::format("best {:.2f}", rows[best].at("top1").number)});
    body += plot::svg(accuracy);
    body += plot::svg(chart("Learning rate", "lr", {series("lr", "lr")}));
    body += plot::svg(chart("Speed", "images/s", {series("img_per_s", "training")}));
    body += "</div>\n";
  }
  body += "<h2>Settings</h2>\n";
  std::vector<std::pair<std::string, std::string>> settings;
  const json::Value config = json::parse(run.config_json.empty() ? "{}" : run.config_json);
  for (const auto& [key, value] : config.object) settings.push_back({key, value.string});
  body += plot::key_value_table(settings);
  return plot::html_page(run.title, body);
}

}  // namespace mm
