// The CPU's two float32 convolution paths agree: oneDNN (engine/ops/conv_onednn.cpp, the default
// when built with it) against im2col + OpenBLAS (engine/ops/conv_kernels.cpp, the reference that the
// finite-difference checks of test_gradcheck verify in float64), forward and accumulated gradients,
// over the shapes of both models and the odd ones (strides that leave a remainder, non-square
// images, 1x1 shortcuts, one channel). And the float32 GEMM under the im2col path, the linear layers
// and the mixing products (engine/blas.h: oneDNN's sgemm when built with it) against the double one.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/blas.h"
#include "engine/ops.h"
#include "engine/ops/conv_kernels.h"
#include "tests/fixtures.h"
#include "tests/gradcheck.h"

namespace mm::testing {
namespace {

// Sets the CPU convolution for one scope and restores the previous one.
class UseCpuConvolution {
 public:
  explicit UseCpuConvolution(kernels::CpuConvolution how) : previous_(kernels::cpu_convolution()) {
    kernels::set_cpu_convolution(how);
  }
  ~UseCpuConvolution() { kernels::set_cpu_convolution(previous_); }

 private:
  kernels::CpuConvolution previous_;
};

struct Shape4 {
  int64_t N, H, W, Cin, Cout, k, stride, pad;
  bool input_grad;  // false: the first layer, whose input needs no gradient (no backward-data)
};

struct Result {
  Tensor y, dx, dw;
};

// y = conv(x, w), then backward of sum(y * r) with both gradients starting from the priors (so a
// path that overwrites instead of accumulating fails), or, with undefined priors, from no gradient
// (the backward then assigns new, uninitialised gradients).
Result run(kernels::CpuConvolution how, const Shape4& s, const Tensor& x0, const Tensor& w0, const Tensor& r,
           const Tensor& dx_prior, const Tensor& dw_prior) {
  UseCpuConvolution use(how);
  Tensor x = x0.clone(), w = w0.clone().set_requires_grad(true);
  if (s.input_grad) {
    x.set_requires_grad(true);
    if (dx_prior.defined()) x.grad_ref().copy_from(dx_prior);
  }
  if (dw_prior.defined()) w.grad_ref().copy_from(dw_prior);
  Tensor y = conv2d(x, w, Tensor(), int(s.stride), int(s.pad));
  backward(sum(mul(y, r)));
  return {y, s.input_grad ? x.grad() : Tensor(), w.grad()};
}

TEST(CpuConvolution, OneDnnMatchesTheGemmReference) {
  if (!kernels::onednn_built()) GTEST_SKIP() << "this build has no oneDNN (MM_ONEDNN=OFF or libdnnl-dev missing)";
  const Shape4 shapes[] = {
      {2, 5, 5, 3, 4, 3, 1, 1, true},      // the op list's 3x3
      {4, 32, 32, 3, 16, 3, 1, 1, false},  // a stem (3 channels, no input gradient)
      {3, 16, 16, 16, 32, 3, 2, 1, true},  // a downsampling 3x3
      {3, 16, 16, 16, 32, 1, 2, 0, true},  // its 1x1 shortcut
      {2, 8, 8, 64, 64, 3, 1, 1, true},    // a full-width block at 8x8
      {2, 6, 6, 5, 7, 1, 1, 0, true},      // pointwise
      {2, 7, 5, 3, 2, 3, 2, 0, true},      // non-square, stride leaving a remainder
      {2, 9, 9, 4, 3, 5, 1, 2, true},      // 5x5
      {1, 4, 4, 1, 1, 3, 1, 1, true},      // one channel
  };
  Rng rng(11);
  for (const Shape4& s : shapes) {
    SCOPED_TRACE(fmt::format("{}x{}x{}x{} -> {}, {}x{}, stride {}, pad {}", s.N, s.H, s.W, s.Cin, s.Cout, s.k, s.k,
                             s.stride, s.pad));
    const Tensor x = random_tensor({s.N, s.H, s.W, s.Cin}, rng).to(DType::F32);
    const Tensor w = random_tensor({s.Cout, s.k, s.k, s.Cin}, rng).to(DType::F32);
    const int64_t Ho = (s.H + 2 * s.pad - s.k) / s.stride + 1, Wo = (s.W + 2 * s.pad - s.k) / s.stride + 1;
    const Tensor r = random_tensor({s.N, Ho, Wo, s.Cout}, rng).to(DType::F32);
    const Tensor dx_prior = random_tensor(x.shape(), rng).to(DType::F32);
    const Tensor dw_prior = random_tensor(w.shape(), rng).to(DType::F32);
    for (bool prior : {true, false}) {
      SCOPED_TRACE(prior ? "accumulated onto earlier gradients" : "assigned as new gradients");
      const Tensor dxp = prior ? dx_prior : Tensor(), dwp = prior ? dw_prior : Tensor();
      const Result ref = run(kernels::CpuConvolution::Gemm, s, x, w, r, dxp, dwp);
      const Result got = run(kernels::CpuConvolution::OneDnn, s, x, w, r, dxp, dwp);
      // float32 sums of up to a few thousand products in another order: relative 1e-5 of the largest
      EXPECT_TRUE(close_relative(got.y, ref.y, 1e-5)) << "forward";
      if (s.input_grad) EXPECT_TRUE(close_relative(got.dx, ref.dx, 1e-5)) << "input gradient";
      EXPECT_TRUE(close_relative(got.dw, ref.dw, 1e-5)) << "weight gradient";
      // and the gradients are not the priors alone
      if (prior) EXPECT_FALSE(close_relative(got.dw, dw_prior, 1e-3)) << "weight gradient not accumulated";
    }
  }
}

// C = alpha op(A) op(B) + beta C in float against double, every transpose, padded leading
// dimensions, beta 0 over a C of NaNs (C must not be read) and beta 1.5 (C must be), the products
// of dense MultiMix's mixing ([1000 x 128] by [128 x 100]) and an empty inner dimension.
TEST(CpuGemm, FloatMatchesDoubleInEveryLayout) {
  struct Dims { int M, N, K; };
  Rng rng(5);
  for (Dims d : {Dims{1, 1, 1}, Dims{7, 5, 3}, Dims{64, 100, 128}, Dims{1000, 100, 128}, Dims{3, 4, 0}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.5}) {
          SCOPED_TRACE(fmt::format("{}x{}x{}, trans {} {}, beta {}", d.M, d.N, d.K, ta, tb, beta));
          // op(A) [M, K] stored as [M, K] or [K, M], each row padded by 3; likewise B and C
          const int a_rows = ta ? d.K : d.M, a_cols = ta ? d.M : d.K, lda = a_cols + 3;
          const int b_rows = tb ? d.N : d.K, b_cols = tb ? d.K : d.N, ldb = b_cols + 3, ldc = d.N + 3;
          std::vector<double> A(size_t(a_rows) * lda), B(size_t(b_rows) * ldb), C(size_t(d.M) * ldc);
          for (double& v : A) v = rng.uniform(-1, 1);
          for (double& v : B) v = rng.uniform(-1, 1);
          for (double& v : C) v = rng.uniform(-1, 1);
          std::vector<float> Af(A.begin(), A.end()), Bf(B.begin(), B.end()), Cf(C.begin(), C.end());
          if (beta == 0) std::fill(Cf.begin(), Cf.end(), NAN);
          blas::gemm(ta, tb, d.M, d.N, d.K, 0.75, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          blas::gemm(ta, tb, d.M, d.N, d.K, 0.75f, Af.data(), lda, Bf.data(), ldb, float(beta), Cf.data(), ldc);
          double worst = 0;
          for (int i = 0; i < d.M; ++i)
            for (int j = 0; j < d.N; ++j) {
              const double diff = std::fabs(Cf[i * ldc + j] - C[i * ldc + j]);
              if (!(diff <= worst)) worst = diff;  // a NaN sticks
            }
          EXPECT_LT(worst, 1e-4) << "float sums of up to 128 products of values in [-1, 1]";
        }
}

TEST(CpuConvolution, ChoosingIt) {
  EXPECT_EQ(kernels::parse_cpu_convolution("gemm"), kernels::CpuConvolution::Gemm);
  EXPECT_EQ(kernels::parse_cpu_convolution("onednn"), kernels::CpuConvolution::OneDnn);
  EXPECT_THROW(kernels::parse_cpu_convolution("mkl"), Error);
  // oneDNN is the default exactly when the build has it
  EXPECT_EQ(kernels::cpu_convolution() == kernels::CpuConvolution::OneDnn, kernels::onednn_built());
  if (!kernels::onednn_built()) EXPECT_THROW(kernels::set_cpu_convolution(kernels::CpuConvolution::OneDnn), Error);
}

TEST(CpuConvolution, Float64AlwaysTakesTheReference) {
  // oneDNN has no float64 convolution; the finite-difference checks rely on this path
  Rng rng(3);
  Tensor x = random_tensor({2, 5, 5, 3}, rng), w = random_tensor({4, 3, 3, 3}, rng);
  Tensor y = conv2d(x, w, Tensor(), 1, 1);
  UseCpuConvolution gemm(kernels::CpuConvolution::Gemm);
  EXPECT_TRUE(close_relative(y, conv2d(x, w, Tensor(), 1, 1), 0));
}

}  // namespace
}  // namespace mm::testing
