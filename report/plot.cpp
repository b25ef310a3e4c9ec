#include "report/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mm::plot {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {  // one value (or none): a unit interval around it
    const double pad = lo != 0 && std::isfinite(lo) ? std::abs(lo) * 0.1 : 1.0;
    lo = std::isfinite(lo) ? lo - pad : 0, hi = std::isfinite(hi) ? hi + pad : 1;
  }
  const double rough = (hi - lo) / std::max(1, target);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= rough) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  if (ticks.empty() || ticks.back() < hi) ticks.push_back(ticks.empty() ? lo : ticks.back() + step);
  return ticks;
}

std::string tick_label(double value, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::abs(value) >= 1e5 || (value != 0 && std::abs(value) < 1e-4)) return fmt::format("{:.2g}", value);
  return fmt::format("{:.{}f}", value, decimals);
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// Colours that stay apart for the colour-blind (Okabe & Ito's eight), then two more for ten classes.
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                          "#56B4E9", "#000000", "#F0E442", "#882255", "#999999"};

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
};

}  // namespace

std::string svg(const Chart& c) {
  // the legend's entries in rows under the title, as many as the width holds
  const double left = 58, right = 22, bottom = 42;  // right: room for the last tick label
  std::vector<std::pair<double, double>> legend_at;  // (x, baseline y) of each series' entry
  double legend_x = left, legend_y = 34;
  for (const auto& s : c.series) {
    const double entry = 32 + 6.2 * static_cast<double>(s.name.size());
    if (legend_x + entry > c.width && legend_x > left) legend_x = left, legend_y += 15;
    legend_at.push_back({legend_x, legend_y});
    legend_x += entry;
  }
  // the plot area inside the margins: left for the y labels, top for the title and the legend
  const double top = legend_y + 10;
  const double W = c.width - left - right, H = c.height - top - bottom;
  auto xv = [&](double x) { return c.log_x ? std::log10(x) : x; };
  Range xr, yr;
  for (const auto& s : c.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.y[i]) && std::isfinite(s.x[i]) && (!c.log_x || s.x[i] > 0)) xr.add(xv(s.x[i])), yr.add(s.y[i]);
  if (c.equal_axes && std::isfinite(xr.lo) && std::isfinite(yr.lo)) {
    // units per pixel alike on both axes: widen the range that is narrow for its side
    const double per_px = std::max((xr.hi - xr.lo) / W, (yr.hi - yr.lo) / H);
    const double xc = (xr.lo + xr.hi) / 2, yc = (yr.lo + yr.hi) / 2;
    xr.lo = xc - per_px * W / 2, xr.hi = xc + per_px * W / 2, yr.lo = yc - per_px * H / 2, yr.hi = yc + per_px * H / 2;
  }
  std::vector<double> xt, yt = nice_ticks(yr.lo, yr.hi);
  if (c.log_x && std::isfinite(xr.lo)) {
    for (double e = std::floor(xr.lo); e <= std::ceil(xr.hi); ++e) xt.push_back(e);
  } else {
    xt = nice_ticks(xr.lo, xr.hi);
    // x values that are all whole numbers (epochs, n) get whole-number ticks
    bool whole = true;
    for (const auto& s : c.series)
      for (double x : s.x) whole = whole && (!std::isfinite(x) || x == std::floor(x));
    if (whole && xt.size() > 1 && xt[1] - xt[0] < 1) {
      xt.clear();
      for (double t = std::floor(xr.lo); t <= std::ceil(xr.hi); ++t) xt.push_back(t);
      if (xt.size() < 2) xt.push_back(xt.back() + 1);
    }
  }
  const double x0 = xt.front(), x1 = xt.size() > 1 ? xt.back() : xt.front() + 1;
  const double y0 = yt.front(), y1 = yt.size() > 1 ? yt.back() : yt.front() + 1;
  auto px = [&](double x) { return left + (xv(x) - x0) / (x1 - x0) * W; };
  auto py = [&](double y) { return top + H - (y - y0) / (y1 - y0) * H; };

  std::string out = fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n",
      c.width, c.height, c.width, c.height);
  out += fmt::format("<text x=\"{}\" y=\"15\" font-size=\"13\" font-weight=\"bold\">{}</text>\n", left, escape(c.title));
  // grid and tick labels
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1, ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double t : yt)
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        left, py(t), left + W, py(t), left - 5, py(t) + 4, tick_label(t, ystep));
  for (double t : xt) {
    const double x = left + (t - x0) / (x1 - x0) * W;
    const std::string label = c.log_x ? tick_label(std::pow(10.0, t), 1) : tick_label(t, xstep);
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        x, top, x, top + H, x, top + H + 14, label);
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", left, top, W, H);
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", left + W / 2, top + H + 32,
                     escape(c.x_label));
  out += fmt::format("<text transform=\"translate(13 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", top + H / 2,
                     escape(c.y_label));
  // the series, and the legend above the plot area
  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& s = c.series[k];
    const char* colour = kColours[k % (sizeof(kColours) / sizeof(kColours[0]))];
    std::string points, dots;
    int count = 0;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i]) || (c.log_x && !(s.x[i] > 0))) continue;
      points += fmt::format("{}{:.1f},{:.1f}", count ? " " : "", px(s.x[i]), py(s.y[i]));
      if (s.dots || !s.line) dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.2\"/>", px(s.x[i]), py(s.y[i]));
      ++count;
    }
    out += fmt::format("<g class=\"series\" data-name=\"{}\" data-points=\"{}\" fill=\"{}\">\n", escape(s.name), count, colour);
    if (s.line)
      out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{}/>\n", points, colour,
                         s.dashed ? " stroke-dasharray=\"5 3\"" : "");
    out += dots + (dots.empty() ? "" : "\n") + "</g>\n";
    const auto [lx, ly] = legend_at[k];
    out += s.line ? fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2\"{}/>",
                                lx, ly - 4, lx + 16, ly - 4, colour, s.dashed ? " stroke-dasharray=\"5 3\"" : "")
                  : fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>", lx + 8, ly - 4, colour);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", lx + 20, ly, escape(s.name));
  }
  for (const Mark& m : c.marks) {
    if (!std::isfinite(m.y)) continue;
    out += fmt::format(
        "<circle class=\"mark\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        px(m.x), py(m.y), px(m.x) - 6, py(m.y) - 7, escape(m.label));
  }
  return out + "</svg>\n";
}

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title) +
         "</title>\n<style>\n"
         "body { font-family: sans-serif; margin: 1.5em; color: #222; }\n"
         ".charts { display: flex; flex-wrap: wrap; gap: 1em; }\n"
         "table { border-collapse: collapse; margin: 0.5em 0 1em; }\n"
         "td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 13px; }\n"
         "</style>\n</head>\n<body>\n<h1>" +
         escape(title) + "</h1>\n" + body + "</body>\n</html>\n";
}

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "<table>\n";
  for (const auto& [key, value] : rows) out += "<tr><th>" + escape(key) + "</th><td>" + escape(value) + "</td></tr>\n";
  return out + "</table>\n";
}

}  // namespace mm::plot
