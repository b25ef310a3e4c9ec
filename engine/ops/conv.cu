// cuDNN behind the convolution kernels (engine/ops/conv_kernels.h): NHWC tensors and filters, the
// plan of each shape (descriptors and algorithms) made once and cached, a workspace per stream.
// Every cuDNN call of the engine is in this file.
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>

#include "engine/cuda/context.cuh"
#include "engine/ops/conv_kernels.h"

namespace mm::cuda {

namespace {

// Descriptors and algorithms of one convolution shape, made once and cached (docs/architecture.md "GPU step
// hygiene"). Every cuDNN call of the engine is in this file.
struct ConvPlan {
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnConvolutionFwdAlgo_t fwd;
  cudnnConvolutionBwdDataAlgo_t bwd_data;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter;
  size_t workspace = 0;
  const char* missing = nullptr;  // the direction cuDNN offers no algorithm for, if any
};

// The plan of a shape in storage type `data` (float or bfloat16; the sums are float either way).
ConvPlan& plan_for(const ConvGeometry& s, cudnnDataType_t data) {
  static std::map<std::tuple<int, int, int, int, int, int, int, int, int, bool, int>, ConvPlan> plans;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  // bf16 always takes the tensor cores; float takes them (TF32) when allowed
  const bool tensor_cores = data == CUDNN_DATA_BFLOAT16 || tf32_allowed();
  auto key = std::make_tuple(s.N, s.H, s.W, s.Cin, s.Cout, s.kh, s.kw, s.stride, s.pad, tensor_cores, int(data));
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  ConvPlan p;
  MM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
  MM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
  MM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  MM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  MM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, data, s.N, s.Cin, s.H, s.W));
  MM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, data, s.N, s.Cout, s.Ho, s.Wo));
  // NHWC filters are [Cout, kh, kw, Cin]: the engine's layout
  MM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w, data, CUDNN_TENSOR_NHWC, s.Cout, s.Cin, s.kh, s.kw));
  MM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p.conv, s.pad, s.pad, s.stride, s.stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  MM_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, tensor_cores ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int found = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[8];
  MM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(cudnn(), p.x, p.w, p.conv, p.y, 8, &found, fwd));
  cudnnConvolutionBwdDataAlgoPerf_t bd[8];
  int found_bd = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn(), p.w, p.y, p.conv, p.x, 8, &found_bd, bd));
  cudnnConvolutionBwdFilterAlgoPerf_t bf[8];
  int found_bf = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn(), p.x, p.y, p.conv, p.w, 8, &found_bf, bf));
  // the first supported algorithm of each heuristic list; none marks the plan incomplete
  auto pick = [&p](auto* perf, int n, auto& algo, const char* what) {
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) return void(algo = perf[i].algo);
    if (!p.missing) p.missing = what;
  };
  pick(fwd, found, p.fwd, "forward");
  pick(bd, found_bd, p.bwd_data, "backward-data");
  pick(bf, found_bf, p.bwd_filter, "backward-filter");
  if (p.missing) {
    if (data == CUDNN_DATA_BFLOAT16)  // kernels::conv2d then runs this shape in float32 (conv_kernels.cpp)
      fmt::print(stderr, "note: cuDNN offers no bfloat16 {} algorithm for the convolution {}x{}x{}x{} -> {} ({}x{}, "
                 "stride {}, pad {}); it runs in float32\n", p.missing, s.N, s.H, s.W, s.Cin, s.Cout, s.kh, s.kw,
                 s.stride, s.pad);
    return plans.emplace(key, p).first->second;
  }
  size_t a = 0, b = 0, c = 0;
  MM_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cudnn(), p.x, p.w, p.conv, p.y, p.fwd, &a));
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn(), p.w, p.y, p.conv, p.x, p.bwd_data, &b));
  MM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn(), p.x, p.y, p.conv, p.w, p.bwd_filter, &c));
  p.workspace = std::max({a, b, c});
  return plans.emplace(key, p).first->second;
}

// The plan of a shape with an algorithm for every direction.
ConvPlan& complete_plan(const ConvGeometry& s, cudnnDataType_t data) {
  ConvPlan& p = plan_for(s, data);
  if (p.missing) throw Error(fmt::format("cuDNN offers no {} algorithm for this convolution", p.missing));
  return p;
}

// The workspace of the stream in use, grown to the largest size any plan has asked for: one for the
// engine's stream and one for the side stream, whose convolutions may run at the same time. A grown
// workspace keeps its old block rather than freeing it, because a captured CUDA graph holds the
// address it had at capture: handed to another tensor, it would be written by every replay (an
// evaluation at --eval-batch-size can ask for more than the training step did).
void* workspace(size_t bytes) {
  struct Workspace {
    void* ptr = nullptr;
    size_t size = 0;
  };
  static Workspace engine_stream, side_stream;
  Workspace& w = side_current() ? side_stream : engine_stream;
  if (bytes > w.size) {  // the old block stays allocated (a few MB, a few times a run)
    w.ptr = device_allocate(bytes);
    w.size = bytes;
  }
  return w.ptr;
}

}  // namespace

template <class S> constexpr cudnnDataType_t cudnn_type() {
  return std::is_same_v<S, bf16> ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

template <class S>
bool convolution_supported(const ConvGeometry& s) {
  return plan_for(s, cudnn_type<S>()).missing == nullptr;
}

template <class S>
void conv2d(const ConvGeometry& s, const S* x, const S* w, S* y) {
  ConvPlan& p = complete_plan(s, cudnn_type<S>());
  const float one = 1, zero = 0;
  MM_CUDNN_CHECK(cudnnConvolutionForward(cudnn(), &one, p.x, x, p.w, w, p.conv, p.fwd, workspace(p.workspace),
                                         p.workspace, &zero, p.y, y));
}

// beta = 1 accumulates into the output, beta = 0 assigns it (cuDNN then does not read it)
template <class S>
void conv2d_backward_input(const ConvGeometry& s, const S* w, const S* dy, S* dx, bool accumulate) {
  ConvPlan& p = complete_plan(s, cudnn_type<S>());
  const float one = 1, beta = accumulate ? 1.0f : 0.0f;
  MM_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn(), &one, p.w, w, p.y, dy, p.conv, p.bwd_data, workspace(p.workspace),
                                              p.workspace, &beta, p.x, dx));
}

template <class S>
void conv2d_backward_weight(const ConvGeometry& s, const S* x, const S* dy, S* dw, bool accumulate) {
  ConvPlan& p = complete_plan(s, cudnn_type<S>());
  const float one = 1, beta = accumulate ? 1.0f : 0.0f;
  MM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn(), &one, p.x, x, p.y, dy, p.conv, p.bwd_filter,
                                                workspace(p.workspace), p.workspace, &beta, p.w, dw));
}

#define MM_INSTANTIATE(S)                                                                        \
  template bool convolution_supported<S>(const ConvGeometry&);                                   \
  template void conv2d<S>(const ConvGeometry&, const S*, const S*, S*);                          \
  template void conv2d_backward_input<S>(const ConvGeometry&, const S*, const S*, S*, bool);     \
  template void conv2d_backward_weight<S>(const ConvGeometry&, const S*, const S*, S*, bool);
MM_INSTANTIATE(float)
MM_INSTANTIATE(bf16)
#undef MM_INSTANTIATE

}  // namespace mm::cuda
