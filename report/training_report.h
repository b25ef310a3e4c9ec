#pragma once
// OUT/report.html, rewritten (atomically) after every epoch: one self-contained page with the run's
// curves per epoch — train and test loss; test top-1 and top-5 with the best top-1 marked (and the
// EMA teacher's top-1 for a distillation run); the learning rate; images/s — then its settings,
// device, data, elapsed time and ETA. It reads what metrics.jsonl holds, so the page and the file
// always agree.
#include <string>

namespace mm {

struct RunDescription {
  std::string title;        // e.g. the run folder
  std::string config_json;  // the run's settings {"flag": "value", ...}
  std::string device, data;
  int epochs = 0;           // planned
};

// The page for the rows of metrics.jsonl so far (one JSON object per line; "" gives a page that
// says no epoch has finished).
std::string training_report(const RunDescription& run, const std::string& metrics_jsonl);

}  // namespace mm
