#pragma once
// Loading versioned PyTorch fixtures and comparing tensors at float32 tolerances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/safetensors.h"

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

}  // namespace mm::testing
