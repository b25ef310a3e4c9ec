// compare: several train_cifar runs side by side, as the paper's Table 1 (mean +- std over seeds
// per method). Writes one page with every run's test top-1 and train loss overlaid and the table
// of final and best top-1 grouped by method (model, width, method, distillation), and prints the
// same table in Markdown (for BENCHMARKS.md).
//   compare runs/erm_s0 runs/erm_s1 runs/multimix_s0 runs/multimix_s1 --out compare.html
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/flags.h"
#include "engine/atomic_file.h"
#include "engine/json.h"
#include "report/plot.h"
#include "train/checkpoint.h"

namespace mm {
namespace {

struct Run {
  std::string dir, group;
  std::vector<json::Value> rows;  // metrics.jsonl
};

// A run's settings: OUT/config.json, or for a run older than config.json its checkpoint's.
json::Value settings_of(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
  }
  MM_CHECK(std::filesystem::exists(dir + "/last.safetensors"), "{}: neither config.json nor last.safetensors (is it a run folder?)", dir);
  return json::parse(read_checkpoint_info(dir + "/last.safetensors").config_json);
}

Run read_run(const std::string& dir) {
  Run run{dir, "", {}};
  const json::Value s = settings_of(dir);
  auto get = [&](const char* key, const char* fallback) { return s.has(key) ? s.at(key).string : std::string(fallback); };
  run.group = fmt::format("{}{} ({} width {})", get("method", "?"), get("distill", "0") == "1" ? " + distill" : "",
                          get("model", "?"), get("width", "?"));
  std::ifstream in(dir + "/metrics.jsonl");
  MM_CHECK(in, "{}: no metrics.jsonl", dir);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) run.rows.push_back(json::parse(line));
  MM_CHECK(!run.rows.empty(), "{}: metrics.jsonl has no epoch yet", dir);
  return run;
}

// "mean ± std" (sample std over the runs; one run: its value alone).
std::string mean_std(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  if (v.size() < 2) return fmt::format("{:.2f}", mean);
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return fmt::format("{:.2f} ± {:.2f}", mean, std::sqrt(ss / static_cast<double>(v.size() - 1)));
}

int run(int argc, char** argv) {
  Flags flags("compare", "Compares train_cifar runs: their curves overlaid, and final and best top-1 per method as mean ± std.\n"
                         "usage: compare RUN_DIR... [--out FILE]");
  flags.add("out", "compare.html", "the page");
  flags.add("markdown", "", "also write the table (Markdown) to this file");
  // run folders are the arguments that are not flags
  std::vector<std::string> dirs;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) == 0 || a == "-h") {
      rest.push_back(argv[i]);
      if (a.find('=') == std::string::npos && i + 1 < argc && a != "--help" && a != "-h") rest.push_back(argv[++i]);
    } else {
      dirs.push_back(a);
    }
  }
  if (!flags.parse(static_cast<int>(rest.size()), rest.data())) return 0;
  MM_CHECK(!dirs.empty(), "no run folders given (see --help)");
  const std::string out = flags.str("out");
  check_writable(out, "--out " + out);  // a bad --out fails before the work

  std::vector<Run> runs;
  for (const auto& d : dirs) runs.push_back(read_run(d));
  std::map<std::string, std::vector<const Run*>> groups;
  for (const Run& r : runs) groups[r.group].push_back(&r);

  std::string markdown = "| method | runs | final top-1 (%) | best top-1 (%) | epochs |\n| --- | --- | --- | --- | --- |\n";
  std::string table = "<table>\n<tr><th>method</th><th>runs</th><th>final top-1 (%)</th><th>best top-1 (%)</th><th>epochs</th></tr>\n";
  for (const auto& [group, members] : groups) {
    std::vector<double> final_top1, best_top1;
    std::string epochs;
    for (const Run* r : members) {
      final_top1.push_back(r->rows.back().at("top1").number);
      best_top1.push_back(r->rows.back().at("best_top1").number);
      const std::string e = fmt::format("{}", r->rows.back().at("epoch").number);
      if (epochs.find(e) == std::string::npos) epochs += (epochs.empty() ? "" : ", ") + e;
    }
    const std::string row[] = {group, std::to_string(members.size()), mean_std(final_top1), mean_std(best_top1), epochs};
    markdown += fmt::format("| {} | {} | {} | {} | {} |\n", row[0], row[1], row[2], row[3], row[4]);
    table += "<tr>";
    for (const auto& cell : row) table += "<td>" + plot::escape(cell) + "</td>";
    table += "</tr>\n";
  }
  table += "</table>\n";

  auto overlay = [&](const char* key, const char* title, const char* y_label) {
    plot::Chart c;
    c.title = title, c.x_label = "epoch", c.y_label = y_label;
    for (const Run& r : runs) {
      plot::Series s{std::filesystem::path(r.dir).filename().string(), {}, {}};
      for (const auto& row : r.rows) s.x.push_back(row.at("epoch").number), s.y.push_back(row.at(key).number);
      s.dots = s.x.size() <= 30;
      c.series.push_back(s);
    }
    c.width = 560, c.height = 340;
    return plot::svg(c);
  };
  std::string body = table + "<div class=\"charts\">\n" + overlay("top1", "Test top-1", "%") +
                     overlay("train_loss", "Train loss", "cross-entropy") + "</div>\n<h2>Runs</h2>\n";
  std::vector<std::pair<std::string, std::string>> listing;
  for (const Run& r : runs) listing.push_back({r.dir, r.group});
  body += plot::key_value_table(listing);
  write_text_atomically(out, plot::html_page(fmt::format("compare: {} runs", runs.size()), body));
  if (flags.given("markdown")) write_text_atomically(flags.str("markdown"), markdown);
  std::fputs(markdown.c_str(), stdout);
  std::printf("the page is %s\n", out.c_str());
  return 0;
}

}  // namespace
}  // namespace mm

int main(int argc, char** argv) { return mm::run_app("compare", argc, argv, mm::run); }
