#pragma once
// Charts as inline SVG for the HTML pages of train_cifar, evaluate, compare and bench: no script,
// no font or file from outside, so a page opens offline in any browser. One chart is a few line
// series over shared axes with "nice" ticks, a legend, and marked points (the best top-1).
//
// Each series is drawn as <g class="series" data-name="NAME" data-points="K"> holding its line (a
// <polyline>) and/or its dots (<circle>s), so tests (and anyone scripting over a page) can find a
// series and count its points without rendering.
#include <string>
#include <vector>

namespace mm::plot {

struct Series {
  std::string name;          // the legend's text
  std::vector<double> x, y;  // the points in order; non-finite ones are left out
  bool dashed = false;
  bool dots = false;         // a dot on every point (for series of a few points, and scatter plots)
  bool line = true;          // false: dots only (a scatter plot)
};

// A point to call out, with a short label (e.g. "best 93.2").
struct Mark {
  double x = 0, y = 0;
  std::string label;
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<Mark> marks;
  bool log_x = false;  // e.g. n in the paper's Figure 5
  bool equal_axes = false;  // one unit is as long on both axes (a 2-D map)
  int width = 460, height = 290;
};

// About `target` tick positions covering [lo, hi]: multiples of 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick's text: no more digits than the step between ticks needs.
std::string tick_label(double value, double step);
// The chart as one <svg> element.
std::string svg(const Chart& chart);

// Text made safe inside HTML and SVG (&, <, >, ").
std::string escape(const std::string& text);
// A whole page: the title, a small built-in style sheet, and `body` (HTML).
std::string html_page(const std::string& title, const std::string& body);
// A two-column table of names and values.
std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace mm::plot
