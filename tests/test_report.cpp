// The charts and pages of report/: ticks, escaping, series and points as drawn,
// and well-formed markup (every element closed, in order).
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "engine/rng.h"
#include "report/embedding_map.h"
#include "report/evaluation_report.h"
#include "report/plot.h"
#include "report/training_report.h"

namespace mm {
namespace {

// True when every tag of an HTML/SVG text is closed in order (void HTML elements and <!...> aside).
bool well_formed(const std::string& text, std::string* problem) {
  std::vector<std::string> open;
  const std::regex tag("<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2], closing = (*it)[1], self_closing = (*it)[3];
    if (!self_closing.empty() || name == "meta") continue;
    if (closing.empty()) {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      *problem = "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
      return false;
    } else {
      open.pop_back();
    }
  }
  if (!open.empty()) *problem = "<" + open.back() + "> is never closed";
  return open.empty();
}

// name -> number of points of every drawn series, checked against what is drawn: the pairs of
// its polyline, or its dots.
std::map<std::string, int> series_points(const std::string& svg) {
  std::map<std::string, int> out;
  const std::regex series("<g class=\"series\" data-name=\"([^\"]*)\" data-points=\"([0-9]+)\"[^>]*>([^]*?)</g>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), series); it != std::sregex_iterator(); ++it) {
    const std::string inner = (*it)[3];
    const int count = std::stoi((*it)[2]);
    const size_t at = inner.find("points=\"");
    if (at != std::string::npos) {
      const std::string points = inner.substr(at + 8, inner.find('"', at + 8) - at - 8);
      EXPECT_EQ(static_cast<int>(std::count(points.begin(), points.end(), ',')), count) << (*it)[1];
    } else {
      int dots = 0;
      for (size_t c = inner.find("<circle"); c != std::string::npos; c = inner.find("<circle", c + 1)) ++dots;
      EXPECT_EQ(dots, count) << (*it)[1];
    }
    out[(*it)[1]] = count;
  }
  return out;
}

TEST(Plot, TicksAreNiceAndCoverTheRange) {
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{{0, 1}, {0.013, 0.0871}, {1.6, 2.31}, {-3, 250}, {5, 5}}) {
    const auto t = plot::nice_ticks(lo, hi);
    ASSERT_GE(t.size(), 2u) << lo << " " << hi;
    EXPECT_LE(t.front(), lo);
    EXPECT_GE(t.back(), hi);
    EXPECT_LE(t.size(), 12u);
    const double step = t[1] - t[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    EXPECT_TRUE(std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 || std::abs(mantissa - 5) < 1e-9) << step;
  }
  EXPECT_EQ(plot::tick_label(0.30000000000000004, 0.1), "0.3");
  EXPECT_EQ(plot::tick_label(250, 50), "250");
}

TEST(Plot, ChartDrawsEachSeriesWithItsFinitePoints) {
  plot::Chart c{"A <title> & more", "epoch", "%",
                {{"top-1", {1, 2, 3}, {10, 20, 30}}, {"with \"nan\"", {1, 2, 3}, {1, NAN, 3}, true, true}}};
  c.marks.push_back({3, 30, "best 30"});
  const std::string svg = plot::svg(c);
  std::string problem;
  EXPECT_TRUE(well_formed(svg, &problem)) << problem;
  const auto points = series_points(svg);
  EXPECT_EQ(points.at("top-1"), 3);
  EXPECT_EQ(points.at("with &quot;nan&quot;"), 2);
  EXPECT_NE(svg.find("A &lt;title&gt; &amp; more"), std::string::npos);
  EXPECT_NE(svg.find("class=\"mark\""), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("http://www.w3.org/2000/svg\" width"), svg.find("http://"));  // the namespace is the only URL
}

// Three clusters far apart in 10-D stay apart on the t-SNE map: every point's nearest neighbour
// on the map is of its own cluster.
TEST(EmbeddingMap, TsneKeepsSeparatedClustersApart) {
  const int per = 40, k = 3, d = 10;
  Tensor x = Tensor::empty({per * k, d});
  Rng rng(7);
  for (int i = 0; i < per * k; ++i)
    for (int j = 0; j < d; ++j) x.data<float>()[i * d + j] = static_cast<float>((j == i / per ? 10.0 : 0.0) + rng.normal());
  const std::vector<double> y = tsne_2d(x, 1, 15, 400);
  ASSERT_EQ(y.size(), size_t(2 * per * k));
  int same = 0;
  for (int i = 0; i < per * k; ++i) {
    int nearest = -1;
    double best = INFINITY;
    for (int j = 0; j < per * k; ++j) {
      const double dist = std::hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
      if (j != i && dist < best) best = dist, nearest = j;
    }
    same += nearest / per == i / per;
  }
  EXPECT_EQ(same, per * k);
  EXPECT_EQ(tsne_2d(x, 1, 15, 400), y);  // a function of the seed
}

// PCA finds the directions of largest spread: points on a line along (1, 1, 0) with a little
// noise along z map to (t * sqrt 2, ~0).
TEST(EmbeddingMap, PcaProjectsOnTheLeadingDirections) {
  Tensor x = Tensor::empty({5, 3});
  const float t[5] = {-2, -1, 0, 1, 2}, z[5] = {0.1f, -0.2f, 0, 0.2f, -0.1f};  // z: uncorrelated with t
  for (int i = 0; i < 5; ++i) x.data<float>()[i * 3] = t[i], x.data<float>()[i * 3 + 1] = t[i], x.data<float>()[i * 3 + 2] = z[i];
  const std::vector<double> y = pca_2d(x);
  for (int i = 0; i < 5; ++i) {
    // each axis is found up to its sign
    EXPECT_NEAR(y[2 * i] * (y[8] > 0 ? 1 : -1), t[i] * std::sqrt(2.0), 1e-5) << i;
    EXPECT_NEAR(y[2 * i + 1] * (y[7] > 0 ? 1 : -1), z[i] / z[3] * 0.2, 1e-5) << i;
  }
}

// evaluate's page: the result rows, the two OOD curves with their points, a map of every class.
TEST(EvaluationReport, TablesCurvesAndMap) {
  const OodDetection d = ood_detection({0.9, 0.8, 0.4}, {0.7, 0.4, 0.1});
  EvaluationPage page;
  page.title = "evaluate: x";
  page.about = {{"model", "preactresnet18"}};
  page.results = {{"top1", 91.5}, {"ood_auroc", 100 * d.auroc}};
  page.ood = &d;
  page.ood_name = "CIFAR-100";
  page.map_method = "PCA";
  page.map = {0, 0, 1, 1, 2, 0, 3, 1};
  page.map_labels = {0, 1, 0, 2};
  const std::string html = evaluation_report(page);
  std::string problem;
  EXPECT_TRUE(well_formed(html, &problem)) << problem;
  const auto points = series_points(html);
  EXPECT_EQ(points.at("max softmax (AuROC 83.3 %)"), 6);
  EXPECT_EQ(points.at("max softmax (AuPR-in 86.7 %)"), 5);
  EXPECT_EQ(points.at("class 0"), 2);
  EXPECT_EQ(points.at("class 2"), 1);
  EXPECT_NE(html.find("top-1 accuracy (%)</th><td>91.5"), std::string::npos);
  std::vector<double> x(1000), y(1000);
  for (int i = 0; i < 1000; ++i) x[i] = i, y[i] = 2 * i;
  thin_curve(x, y, 10);
  EXPECT_EQ(x.size(), 10u);
  EXPECT_EQ(x.back(), 999);
  EXPECT_EQ(y[3], 2 * x[3]);
}

TEST(TrainingReport, PlotsEveryEpochOfMetrics) {
  RunDescription run{"runs/x", R"({"method":"multimix","lr":"0.1"})", "cpu", "CIFAR-10 from data", 10};
  std::string metrics;
  for (int e = 1; e <= 3; ++e)
    metrics += "{\"epoch\":" + std::to_string(e) + ",\"lr\":0.1,\"train_loss\":" + std::to_string(2.0 - 0.1 * e) +
               ",\"test_loss\":1.9,\"top1\":" + std::to_string(30 + e) + ",\"top5\":80,\"best_top1\":" +
               std::to_string(30 + e) + ",\"teacher_test_loss\":1.8,\"teacher_top1\":35,\"teacher_top5\":85,"
               "\"img_per_s\":100,\"seconds\":60}\n";
  const std::string page = training_report(run, metrics);
  std::string problem;
  EXPECT_TRUE(well_formed(page, &problem)) << problem;
  size_t charts = 0;
  for (size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1)) ++charts;
  EXPECT_EQ(charts, 4u);  // loss, accuracy, learning rate, speed
  const auto points = series_points(page);
  for (const char* name : {"train", "test", "teacher test", "top-1", "top-5", "teacher top-1", "lr", "training"})
    EXPECT_EQ(points.at(name), 3) << name;
  EXPECT_NE(page.find("best 33.00"), std::string::npos);
  EXPECT_NE(page.find("3 of 10"), std::string::npos);
  EXPECT_NE(page.find("7m 00s"), std::string::npos);  // ETA: 7 epochs of 60 s
  EXPECT_NE(page.find("multimix"), std::string::npos);
  EXPECT_TRUE(well_formed(training_report(run, ""), &problem)) << problem;  // before the first epoch
}

}  // namespace
}  // namespace mm
