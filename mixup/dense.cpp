#include "mixup/dense.h"

#include "engine/dispatch.h"
#include "mixup/mix_math.h"
#ifdef MM_WITH_CUDA
#include "mixup/cuda/kernels.h"
#endif

namespace mm {

Attention parse_attention(const std::string& name) {
  if (name == "gap-relu") return Attention::GapRelu;
  if (name == "gap-softmax") return Attention::GapSoftmax;
  if (name == "cam-relu") return Attention::CamRelu;
  if (name == "cam-softmax") return Attention::CamSoftmax;
  if (name == "uniform") return Attention::Uniform;
  throw Error(fmt::format("unknown attention '{}' (gap-relu, gap-softmax, cam-relu, cam-softmax, uniform)", name));
}

Tensor dense_attention(const Tensor& z, const Tensor& labels, const Tensor& classifier_weight, Attention kind) {
  MM_CHECK(z.ndim() == 3, "dense_attention: z must be [m, r, d], got {}", shape_str(z.shape()));
  const int64_t m = z.dim(0), r = z.dim(1), d = z.dim(2);
  const Device device = common_device({&z}, "dense_attention");
  const bool cam = kind == Attention::CamRelu || kind == Attention::CamSoftmax;
  if (cam) {
    MM_CHECK(classifier_weight.ndim() == 2 && classifier_weight.dim(1) == d, "dense_attention: classifier weight {} does not fit d = {}",
             shape_str(classifier_weight.shape()), d);
    check_shape(labels, {m}, "dense_attention labels");
  }
  Tensor a = Tensor::empty({m, r}, z.dtype(), device);
  if (device.is_cuda()) {
    MM_CUDA_CALL({
      const int code = kind == Attention::Uniform                                          ? 2
                       : (kind == Attention::GapSoftmax || kind == Attention::CamSoftmax) ? 1
                                                                                          : 0;
      cuda::dense_attention(z.data<float>(), cam ? classifier_weight.data<float>() : nullptr,
                            cam ? labels.data<int64_t>() : nullptr, m, r, d, code, a.data<float>());
    });
    return a;
  }
  dispatch_floating(z.dtype(), "dense_attention", [&](auto t) {
    using T = decltype(t);
    const T* pz = z.data<T>();
    T* pa = a.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      std::vector<T> u(d), q(r);
      const T* z_i = pz + i * r * d;
      for (int64_t e = 0; e < d; ++e)
        u[e] = cam ? classifier_weight.data<T>()[labels.data<int64_t>()[i] * d + e]
                   : math::gap_query(z_i, static_cast<int>(r), static_cast<int>(d), static_cast<int>(e));
      for (int64_t j = 0; j < r; ++j) q[j] = math::attention_score(z_i + j * d, u.data(), static_cast<int>(d));
      T* out = pa + i * r;
      switch (kind) {
        case Attention::GapRelu:
        case Attention::CamRelu: math::normalise_relu(q.data(), static_cast<int>(r), out); break;
        case Attention::GapSoftmax:
        case Attention::CamSoftmax: math::normalise_softmax(q.data(), static_cast<int>(r), out); break;
        case Attention::Uniform: math::normalise_uniform(static_cast<int>(r), out); break;
      }
    }
  });
  return a;
}

DenseWeights dense_weights(const Tensor& attention, const Tensor& lambda) {
  MM_CHECK(lambda.ndim() == 3 && attention.ndim() == 2 && lambda.dim(0) == attention.dim(1) &&
               lambda.dim(1) == attention.dim(0),
           "dense_weights: attention {} ([m, r]) and lambda {} ([r, m, n]) do not fit", shape_str(attention.shape()),
           shape_str(lambda.shape()));
  MM_CHECK(attention.dtype() == lambda.dtype(), "dense_weights: dtypes differ");
  const Device device = common_device({&attention, &lambda}, "dense_weights");
  const int64_t r = lambda.dim(0), m = lambda.dim(1), n = lambda.dim(2);
  DenseWeights w{Tensor::empty(lambda.shape(), lambda.dtype(), device), Tensor::empty({r, n}, lambda.dtype(), device)};
  if (device.is_cuda()) {
    MM_CUDA_CALL(cuda::dense_weights(attention.data<float>(), lambda.data<float>(), r, m, n, w.mtilde.data<float>(),
                                     w.s.data<float>()));
    return w;
  }
  dispatch_floating(lambda.dtype(), "dense_weights", [&](auto t) {
    using T = decltype(t);
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < r * n; ++q) {
      const int64_t j = q / n, k = q % n;
      w.s.data<T>()[q] = math::dense_column(attention.data<T>() + j, static_cast<int>(r),
                                            lambda.data<T>() + j * m * n + k, static_cast<int>(m), static_cast<int>(n),
                                            w.mtilde.data<T>() + j * m * n + k);
    }
  });
  return w;
}

Tensor positions_to_nchw(const Tensor& logits, int64_t R) {
  MM_CHECK(logits.ndim() == 3 && logits.dim(0) == R * R, "positions_to_nchw: logits must be [{}, n, c], got {}", R * R,
           shape_str(logits.shape()));
  const Tensor host = logits.to(cpu());
  const int64_t r = host.dim(0), n = host.dim(1), c = host.dim(2);
  Tensor out = Tensor::empty({n, c, R, R}, host.dtype());
  dispatch_floating(host.dtype(), "positions_to_nchw", [&](auto t) {
    using T = decltype(t);
    for (int64_t j = 0; j < r; ++j)
      for (int64_t k = 0; k < n; ++k)
        for (int64_t e = 0; e < c; ++e) out.data<T>()[(k * c + e) * r + j] = host.data<T>()[(j * n + k) * c + e];
  });
  return out;
}

}  // namespace mm
