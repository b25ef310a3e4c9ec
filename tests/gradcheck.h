#pragma once
// The reusable finite-difference gradient checker (double precision, CPU).
//
// check_gradients(f, inputs) runs f on the inputs, reduces its output to a scalar with fixed random
// weights (so every output element matters), and compares the gradient that backward() accumulates
// into each input that requires grad against central differences (L(x+h) - L(x-h)) / 2h at several
// step sizes, with a mixed absolute/relative tolerance. Gradients are pre-filled with garbage first
// and the garbage is subtracted afterwards: a backward that assigns instead of accumulating fails.
// A second backward from no gradient at all (the path where a backward assigns a new, uninitialised
// gradient: Tensor::grad_to_write) must give the same gradients. Callers keep inputs away from
// kinks (e.g. ReLU at 0).
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace mm::testing {

// A double CPU tensor with values uniform in [lo, hi).
inline Tensor random_tensor(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, DType::F64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = rng.uniform(lo, hi);
  return t;
}

// Like random_tensor but |value| >= margin (away from ReLU's kink at 0).
inline Tensor random_away_from_zero(const Shape& shape, Rng& rng, double margin = 0.1) {
  Tensor t = random_tensor(shape, rng, margin, 1.0);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (rng.uniform() < 0.5) t.data<double>()[i] *= -1;
  return t;
}

struct GradcheckOptions {
  std::vector<double> steps{1e-3, 1e-4, 1e-5};
  double atol = 1e-7;
  double rtol = 1e-5;
};

inline void check_gradients(const std::function<Tensor(std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                            GradcheckOptions options = {}) {
  Rng rng(1234);
  // Forward once to learn the output's shape; fixed weights make the scalar L = sum(w * f(x)).
  Tensor weights;
  {
    NoGrad no_grad;
    weights = random_tensor(f(inputs).shape(), rng);
  }
  auto loss_of = [&](std::vector<Tensor>& in) { return sum(mul(f(in), weights)); };

  // from no gradient: each backward assigns the first contribution to an input
  for (Tensor& x : inputs) x.zero_grad();
  backward(loss_of(inputs));
  std::vector<Tensor> assigned;
  for (Tensor& x : inputs) assigned.push_back(x.requires_grad() ? x.grad().clone() : Tensor());

  std::vector<Tensor> garbage;
  for (Tensor& x : inputs) {
    Tensor g = random_tensor(x.shape(), rng, -5, 5);
    if (x.requires_grad()) x.grad_ref().copy_from(g);
    garbage.push_back(g);
  }
  backward(loss_of(inputs));
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    ASSERT_TRUE(assigned[k].defined()) << "input " << k << " received no gradient";
    const double* a = assigned[k].data<double>();
    for (int64_t i = 0; i < inputs[k].numel(); ++i)
      ASSERT_NEAR(a[i], inputs[k].grad().data<double>()[i] - garbage[k].data<double>()[i], 1e-9 * (1 + std::abs(a[i])))
          << "input " << k << " element " << i << ": the gradient assigned from none differs from the one accumulated";
  }

  NoGrad no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " received no gradient";
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double analytic = x.grad().data<double>()[i] - garbage[k].data<double>()[i];
      double best_error = 1e300, best_numeric = 0;
      for (double h : options.steps) {
        double& xi = x.data<double>()[i];
        const double saved = xi;
        xi = saved + h;
        const double plus = loss_of(inputs).item();
        xi = saved - h;
        const double minus = loss_of(inputs).item();
        xi = saved;
        const double numeric = (plus - minus) / (2 * h);
        if (std::abs(numeric - analytic) < best_error) best_error = std::abs(numeric - analytic), best_numeric = numeric;
      }
      const double tolerance = options.atol + options.rtol * std::max(std::abs(analytic), std::abs(best_numeric));
      ASSERT_LE(best_error, tolerance) << "input " << k << " element " << i << ": analytic " << analytic
                                       << " vs numeric " << best_numeric;
    }
  }
}

// Marks a tensor as requiring grad and returns it (for building input lists inline).
inline Tensor param(Tensor t) { return t.set_requires_grad(true); }

}  // namespace mm::testing
