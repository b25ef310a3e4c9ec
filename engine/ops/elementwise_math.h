#pragma once
// The per-element math of the element-wise ops, written once: the CPU loops and the CUDA kernels
// (engine/ops/elementwise_kernels.cpp, engine/ops/elementwise.cu) call these functions. Each unary
// and binary op is a small functor with its forward and its backward.
#include <cmath>

#include "engine/hd.h"

namespace mm::math {

// ---- unary: y = f(x); backward(x, y, dy) = dy * f'(x) ----
struct Relu {
  template <class T> MM_HD T operator()(T x) const { return x > T(0) ? x : T(0); }
  template <class T> MM_HD T backward(T, T y, T dy) const { return y > T(0) ? dy : T(0); }
};
struct Exp {
  template <class T> MM_HD T operator()(T x) const { using std::exp; return exp(x); }
  template <class T> MM_HD T backward(T, T y, T dy) const { return dy * y; }
};
struct Log {
  template <class T> MM_HD T operator()(T x) const { using std::log; return log(x); }
  template <class T> MM_HD T backward(T x, T, T dy) const { return dy / x; }
};
struct Sqrt {
  template <class T> MM_HD T operator()(T x) const { using std::sqrt; return sqrt(x); }
  template <class T> MM_HD T backward(T, T y, T dy) const { return dy / (T(2) * y); }
};
struct Rsqrt {
  template <class T> MM_HD T operator()(T x) const { using std::sqrt; return T(1) / sqrt(x); }
  template <class T> MM_HD T backward(T, T y, T dy) const { return -dy * y * y * y / T(2); }
};

// ---- binary: y = f(a, b); da(a, b, dy), db(a, b, dy) ----
struct Add {
  template <class T> MM_HD T operator()(T a, T b) const { return a + b; }
  template <class T> MM_HD T da(T, T, T dy) const { return dy; }
  template <class T> MM_HD T db(T, T, T dy) const { return dy; }
};
struct Sub {
  template <class T> MM_HD T operator()(T a, T b) const { return a - b; }
  template <class T> MM_HD T da(T, T, T dy) const { return dy; }
  template <class T> MM_HD T db(T, T, T dy) const { return -dy; }
};
struct Mul {
  template <class T> MM_HD T operator()(T a, T b) const { return a * b; }
  template <class T> MM_HD T da(T, T b, T dy) const { return dy * b; }
  template <class T> MM_HD T db(T a, T, T dy) const { return dy * a; }
};
struct Div {
  template <class T> MM_HD T operator()(T a, T b) const { return a / b; }
  template <class T> MM_HD T da(T, T b, T dy) const { return dy / b; }
  template <class T> MM_HD T db(T a, T b, T dy) const { return -dy * a / (b * b); }
};

// Per-channel affine map of one element: y = x * scale + shift (channel_affine); dx = dy * scale.
template <class T> MM_HD T affine(T x, T scale, T shift) { return x * scale + shift; }
template <class T> MM_HD T affine_backward(T dy, T scale) { return dy * scale; }

// One step of a sign-gradient attack in [0, 1] pixel space (FGSM, PGD): move x by `step` along the
// sign of the loss gradient g, project onto the L-infinity ball of `radius` around the clean x0,
// then onto the valid pixels [0, 1]. A zero gradient leaves x where it is.
template <class T> MM_HD T projected_sign_step(T x, T x0, T g, T step, T radius) {
  const T moved = x + (g > T(0) ? step : g < T(0) ? -step : T(0));
  const T in_ball = moved < x0 - radius ? x0 - radius : moved > x0 + radius ? x0 + radius : moved;
  return in_ball < T(0) ? T(0) : in_ball > T(1) ? T(1) : in_ball;
}

}  // namespace mm::math

namespace mm {

// The ops by name, for the kernel interface; visit() calls f with the op's functor.
enum class UnaryOp { Relu, Exp, Log, Sqrt, Rsqrt };
enum class BinaryOp { Add, Sub, Mul, Div };

template <class F> void visit(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::Relu: return f(math::Relu{});
    case UnaryOp::Exp: return f(math::Exp{});
    case UnaryOp::Log: return f(math::Log{});
    case UnaryOp::Sqrt: return f(math::Sqrt{});
    case UnaryOp::Rsqrt: return f(math::Rsqrt{});
  }
}
template <class F> void visit(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f(math::Add{});
    case BinaryOp::Sub: return f(math::Sub{});
    case BinaryOp::Mul: return f(math::Mul{});
    case BinaryOp::Div: return f(math::Div{});
  }
}

}  // namespace mm
