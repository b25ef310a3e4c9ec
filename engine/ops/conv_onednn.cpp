// oneDNN behind the CPU's float32 convolutions (engine/ops/conv_kernels.h), the way cuDNN serves
// the GPU: the same NHWC tensors, the plan of each shape (descriptors, the chosen implementations
// and their primitives) made once and cached. Built only with MM_ONEDNN (Debian: libdnnl-dev);
// the im2col + GEMM path of conv_kernels.cpp stays the reference the tests compare this against.
//
// Layouts: oneDNN names dimensions logically (N, C, H, W) and the memory order separately, so
// x [N, H, W, Cin] is dims {N, Cin, H, W} in format nhwc, and w [Cout, kh, kw, Cin] is dims
// {Cout, Cin, kh, kw} in format ohwi. The weights are handed to the primitive in the blocked
// layout it prefers (format "any"): reordering ~Cout*K values per call is cheap next to the
// convolution, and the fast kernels want it.
#include <map>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/error.h"
#include "engine/ops/conv_kernels.h"

namespace mm::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Primitives run in order on one stream (oneDNN's CPU stream executes synchronously).
dnnl::stream& stream() {
  static dnnl::stream s(cpu());
  return s;
}

// Everything oneDNN needs for one convolution shape, made once.
struct ConvPlan {
  memory::desc x, w_plain, y;  // the engine's layouts
  dnnl::convolution_forward::primitive_desc fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
};

ConvPlan make_plan(const ConvGeometry& g) {
  const memory::dims stride{g.stride, g.stride}, pad{g.pad, g.pad};
  // oneDNN's right padding is what the output size leaves over: (Ho - 1) * stride + kh - H - pad.
  const memory::dims pad_right{(g.Ho - 1) * g.stride + g.kh - g.H - g.pad, (g.Wo - 1) * g.stride + g.kw - g.W - g.pad};
  ConvPlan p;
  p.x = memory::desc({g.N, g.Cin, g.H, g.W}, memory::data_type::f32, Tag::nhwc);
  p.y = memory::desc({g.N, g.Cout, g.Ho, g.Wo}, memory::data_type::f32, Tag::nhwc);
  p.w_plain = memory::desc({g.Cout, g.Cin, g.kh, g.kw}, memory::data_type::f32, Tag::ohwi);
  const memory::desc w_any({g.Cout, g.Cin, g.kh, g.kw}, memory::data_type::f32, Tag::any);
  const auto algorithm = dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::desc fwd(dnnl::prop_kind::forward_training, algorithm, p.x, w_any, p.y, stride, pad,
                                      pad_right);
  p.fwd = dnnl::convolution_forward::primitive_desc(fwd, cpu());
  dnnl::convolution_backward_data::desc bwd_data(algorithm, p.x, w_any, p.y, stride, pad, pad_right);
  p.bwd_data = dnnl::convolution_backward_data::primitive_desc(bwd_data, cpu(), p.fwd);
  dnnl::convolution_backward_weights::desc bwd_weights(algorithm, p.x, w_any, p.y, stride, pad, pad_right);
  p.bwd_weights = dnnl::convolution_backward_weights::primitive_desc(bwd_weights, cpu(), p.fwd);
  p.forward = dnnl::convolution_forward(p.fwd);
  p.backward_data = dnnl::convolution_backward_data(p.bwd_data);
  p.backward_weights = dnnl::convolution_backward_weights(p.bwd_weights);
  return p;
}

ConvPlan& plan_for(const ConvGeometry& g) {
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>, ConvPlan>
      plans;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(g.N, g.H, g.W, g.Cin, g.Cout, g.kh, g.kw, g.stride, g.pad);
  auto it = plans.find(key);
  if (it == plans.end()) {
    try {
      it = plans.emplace(key, make_plan(g)).first;
    } catch (const dnnl::error& e) {
      throw Error(fmt::format("oneDNN cannot plan the convolution {}x{}x{}x{} -> {} ({}x{}, stride {}, pad {}): {}", g.N,
                              g.H, g.W, g.Cin, g.Cout, g.kh, g.kw, g.stride, g.pad, e.what()));
    }
  }
  return it->second;
}

// A memory object over the engine's buffer (oneDNN's handles are non-const; it only reads inputs).
memory wrap(const memory::desc& d, const float* data) { return memory(d, cpu(), const_cast<float*>(data)); }

// The weights in the layout `want`: the engine's buffer itself when that is the layout, else a
// reordered copy held by the returned memory (or written back by the caller).
memory weights_as(const ConvPlan& p, const memory::desc& want, const float* w) {
  memory plain = wrap(p.w_plain, w);
  if (want == p.w_plain) return plain;
  memory blocked(want, cpu());
  dnnl::reorder(plain, blocked).execute(stream(), plain, blocked);
  return blocked;
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y) {
  ConvPlan& p = plan_for(g);
  memory src = wrap(p.x, x), dst = wrap(p.y, y), weights = weights_as(p, p.fwd.weights_desc(), w);
  p.forward.execute(stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
}

// oneDNN's backward primitives assign their outputs; the dispatch (conv_kernels.cpp) accumulates.
void conv2d_backward_input(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  ConvPlan& p = plan_for(g);
  memory weights = weights_as(p, p.bwd_data.weights_desc(), w);
  p.backward_data.execute(stream(),
                          {{DNNL_ARG_DIFF_DST, wrap(p.y, dy)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, wrap(p.x, dx)}});
}

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  ConvPlan& p = plan_for(g);
  // diff_weights in the primitive's layout, then reordered into dw's (plain) layout
  memory diff_weights(p.bwd_weights.diff_weights_desc(), cpu());
  p.backward_weights.execute(
      stream(), {{DNNL_ARG_SRC, wrap(p.x, x)}, {DNNL_ARG_DIFF_DST, wrap(p.y, dy)}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights}});
  memory plain = wrap(p.w_plain, dw);
  dnnl::reorder(diff_weights, plain).execute(stream(), diff_weights, plain);
}

}  // namespace mm::onednn
