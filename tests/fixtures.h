#pragma once
// Loading versioned PyTorch fixtures and comparing tensors at float32 tolerances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "engine/safetensors.h"
#include "mixup/dense.h"
#include "mixup/method.h"

namespace mm::testing {

// tests/fixtures/<name>.safetensors, refused unless its fixture_version is `version`.
inline TensorFile load_fixture(const std::string& name, const std::string& version, const std::string& script) {
  const std::string path = std::string(MM_SOURCE_DIR) + "/tests/fixtures/" + name + ".safetensors";
  TensorFile f = load_safetensors(path);
  auto it = f.metadata.find("fixture_version");
  const std::string found = it == f.metadata.end() ? "none" : it->second;
  if (found != version)
    throw Error(fmt::format("{} has fixture_version {}, this test expects {}; regenerate it with "
                            "`python3 tests/reference/{}` (needs python3-torch)",
                            path, found, version, script));
  return f;
}

// max |actual - expected| <= tol * max(max |expected|, floor): the error relative to the largest
// magnitude of the tensor, the measure the acceptance checks use. `floor` matters only for tensors
// that are zero in exact arithmetic (e.g. the gradient of a conv bias followed by batch norm),
// where both sides hold float32 rounding noise.
inline ::testing::AssertionResult close_relative(const Tensor& actual, const Tensor& expected, double tol,
                                                 double floor = 1e-12) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs " << shape_str(expected.shape());
  const std::vector<double> a = actual.to_doubles(), e = expected.to_doubles();
  double scale = floor, worst = 0;
  size_t at = 0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - e[i]);
    if (!(d <= worst)) worst = d, at = i;  // also catches NaN
  }
  if (worst <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max error " << worst << " at element " << at << " (" << a[at] << " vs "
                                       << e[at] << ") exceeds " << tol << " x max magnitude " << scale;
}

// The method of a method fixture (tests/reference/make_method_fixtures.py), from its metadata.
inline MethodConfig fixture_method_config(const TensorFile& f) {
  MethodConfig config;
  config.method = parse_method(f.metadata.at("method"));
  config.distill = f.metadata.at("distill") == "1";
  config.gamma = std::stod(f.metadata.at("gamma"));
  config.dense_resolution = std::stoi(f.metadata.at("dense_resolution"));
  config.attention = parse_attention(f.metadata.at("attention"));
  return config;
}

// The largest |actual - expected| over the largest |expected| (NaN when actual holds one).
inline double relative_error(const Tensor& actual, const Tensor& expected) {
  const std::vector<double> a = actual.to_doubles(), e = expected.to_doubles();
  double scale = 0, worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(e[i]));
    const double d = std::abs(a[i] - e[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst / std::max(scale, 1e-30);
}

// A step of a network whose encoder computes in bfloat16 (--precision bf16) against the exact
// (float64) step of the same fixture. bfloat16 keeps 8 significant bits: each stored activation,
// weight and activation gradient is off by up to 2^-8 = 0.4 % of itself. The yardstick is
// PyTorch 1.13's own bfloat16 step on the same reduced models (tests/reference/
// bf16_reference_errors.py): its logits land 0.8-1.5 % from the exact ones (pooled) and 1.7-2.8 %
// (per position, as dense MultiMix sees them); its gradients 24 % for the median tensor and up to
// 61 % (85 % at batch 64). The gradients are so far off because the backward of a batch norm in
// training mode subtracts from dy its projections on 1 and x-hat, and what is left (what the
// layers below see) can be a small residue of large terms: the rounding of dy and x is amplified
// at every batch norm on the way down. So: the logits within 6 %; the median gradient tensor
// within 35 %; every tensor within 100 % (a gradient lost, or of the wrong sign, is 100 % off or
// more); the classifier's, below every batch norm's backward, within 3 %. Every gradient must be
// float32 (the weights' master copy), and the logits further from the exact ones than float32's
// 1e-4, or the encoder did not compute in bfloat16 at all.
inline void expect_bf16_step_close(const Tensor& logits, const Tensor& expected_logits,
                                   const std::vector<std::pair<std::string, Tensor>>& gradients, const TensorFile& f,
                                   double grad_floor) {
  const double logits_error = relative_error(logits, expected_logits);
  EXPECT_LT(logits_error, 0.06) << "logits";
  EXPECT_GT(logits_error, 1e-4) << "the logits are as close as float32's: did the encoder compute in bfloat16?";
  std::vector<double> errors;
  for (const auto& [name, grad] : gradients) {
    ASSERT_EQ(grad.dtype(), DType::F32) << name;
    const Tensor expected = f.at("grad." + name);
    double scale = 0;
    for (double v : expected.to_doubles()) scale = std::max(scale, std::abs(v));
    if (scale < grad_floor) continue;  // zero in exact arithmetic: rounding noise on both sides
    errors.push_back(relative_error(grad, expected));
    EXPECT_LT(errors.back(), 1.0) << "grad." << name;
    if (name.rfind("classifier.", 0) == 0) EXPECT_LT(errors.back(), 0.03) << "grad." << name;
  }
  ASSERT_FALSE(errors.empty());
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  EXPECT_LT(median, 0.35) << "the median gradient's relative error";
  std::printf("bfloat16 step: logits within %.2g; gradients: median %.2g, worst %.2g (relative)\n", logits_error, median,
              errors.back());
}

}  // namespace mm::testing
