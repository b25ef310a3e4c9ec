#pragma once
// The one list of op test cases. Every entry is checked twice: by finite differences in float64
// on the CPU (test_gradcheck.cpp, the inputs that require grad) and, in float32, on the CPU against
// the GPU (test_cuda.cpp: outputs, gradients, and inputs the op updates in place, such as batch
// norm's running statistics). A new op adds its entry here and gets both tests.
#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/random.h"
#include "layers/dropout.h"
#include "mixup/ops.h"
#include "tests/gradcheck.h"

namespace mm::testing {

struct OpCase {
  std::string name;  // letters, digits and _ (a test name)
  // The inputs: float64 CPU tensors (param(...) for those whose gradient is checked) and integer
  // tensors (labels, permutations, boxes), which stay as they are.
  std::function<std::vector<Tensor>(Rng&)> inputs;
  std::function<Tensor(std::vector<Tensor>&)> op;
};
inline std::string op_case_name(const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; }

// Batch norm whose running statistics are inputs 3 and 4 (so both devices get their own copies).
inline Tensor batch_norm_case(std::vector<Tensor>& in, bool training, bool relu = false) {
  BatchNormBuffers buffers{in[3], in[4], Tensor()};
  return batch_norm(in[0], in[1], in[2], buffers, training, 0.1, 1e-5, relu);
}

inline Tensor conv_case(std::vector<Tensor>& in, int stride, int pad) {
  return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), stride, pad);
}

inline std::vector<OpCase> op_cases() {
  using In = std::vector<Tensor>;
  auto ids = [](std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); };
  std::vector<OpCase> cases = {
      // ---- element-wise (engine/ops/elementwise.*) and reductions (engine/ops/reduce.*)
      {"add", [](Rng& r) { return In{param(random_tensor({3, 4}, r)), param(random_tensor({3, 4}, r))}; },
       [](In& in) { return add(in[0], in[1]); }},
      {"mul", [](Rng& r) { return In{param(random_tensor({2, 3, 2}, r)), param(random_tensor({2, 3, 2}, r))}; },
       [](In& in) { return mul(in[0], in[1]); }},
      {"sub", [](Rng& r) { return In{param(random_tensor({3, 4}, r)), param(random_tensor({3, 4}, r))}; },
       [](In& in) { return sub(in[0], in[1]); }},
      {"div", [](Rng& r) { return In{param(random_tensor({3, 4}, r)), param(random_away_from_zero({3, 4}, r, 0.5))}; },
       [](In& in) { return div(in[0], in[1]); }},
      {"scale", [](Rng& r) { return In{param(random_tensor({7}, r))}; }, [](In& in) { return scale(in[0], -2.5); }},
      {"exp", [](Rng& r) { return In{param(random_tensor({4, 5}, r, -2, 2))}; }, [](In& in) { return exp(in[0]); }},
      {"log", [](Rng& r) { return In{param(random_tensor({4, 5}, r, 0.2, 3))}; }, [](In& in) { return log(in[0]); }},
      {"sqrt", [](Rng& r) { return In{param(random_tensor({4, 5}, r, 0.2, 3))}; }, [](In& in) { return sqrt(in[0]); }},
      {"rsqrt", [](Rng& r) { return In{param(random_tensor({4, 5}, r, 0.2, 3))}; }, [](In& in) { return rsqrt(in[0]); }},
      {"channel_add", [](Rng& r) { return In{param(random_tensor({2, 3, 4, 5}, r)), param(random_tensor({5}, r))}; },
       [](In& in) { return channel_add(in[0], in[1]); }},
      {"channel_mul", [](Rng& r) { return In{param(random_tensor({2, 3, 4, 5}, r)), param(random_tensor({5}, r))}; },
       [](In& in) { return channel_mul(in[0], in[1]); }},
      {"relu", [](Rng& r) { return In{param(random_away_from_zero({4, 5}, r))}; }, [](In& in) { return relu(in[0]); }},
      {"channel_affine",  // scale and shift are constants
       [](Rng& r) { return In{param(random_tensor({2, 2, 4, 3}, r)), random_tensor({3}, r), random_tensor({3}, r)}; },
       [](In& in) { return channel_affine(in[0], in[1], in[2]); }},
      {"reshape", [](Rng& r) { return In{param(random_tensor({3, 4}, r))}; }, [](In& in) { return reshape(in[0], {6, 2}); }},
      {"sum", [](Rng& r) { return In{param(random_tensor({4, 33}, r))}; }, [](In& in) { return sum(in[0]); }},
      {"mean", [](Rng& r) { return In{param(random_tensor({3, 4}, r))}; }, [](In& in) { return mean(in[0]); }},
      {"sum_axes", [](Rng& r) { return In{param(random_tensor({2, 3, 4, 5}, r))}; }, [](In& in) { return sum(in[0], {1, -1}); }},
      {"mean_axes", [](Rng& r) { return In{param(random_tensor({2, 3, 4, 5}, r))}; }, [](In& in) { return mean(in[0], {0, 2}); }},
      {"mean_all_axes", [](Rng& r) { return In{param(random_tensor({3, 4}, r))}; }, [](In& in) { return mean(in[0], {0, 1}); }},
      // ---- linear and convolution (engine/ops/linear.*, engine/ops/conv.*)
      {"linear",
       [](Rng& r) { return In{param(random_tensor({4, 5}, r)), param(random_tensor({3, 5}, r)), param(random_tensor({3}, r))}; },
       [](In& in) { return linear(in[0], in[1], in[2]); }},
      {"linear_no_bias", [](Rng& r) { return In{param(random_tensor({2, 5}, r)), param(random_tensor({6, 5}, r))}; },
       [](In& in) { return linear(in[0], in[1], Tensor()); }},
      {"conv3x3_same", [](Rng& r) { return In{param(random_tensor({2, 5, 5, 3}, r)), param(random_tensor({4, 3, 3, 3}, r))}; },
       [](In& in) { return conv_case(in, 1, 1); }},
      {"conv3x3_stride2_bias",
       [](Rng& r) {
         return In{param(random_tensor({2, 6, 6, 2}, r)), param(random_tensor({3, 3, 3, 2}, r)), param(random_tensor({3}, r))};
       },
       [](In& in) { return conv_case(in, 2, 1); }},
      {"conv1x1_pointwise_bias",  // no im2col
       [](Rng& r) {
         return In{param(random_tensor({2, 4, 5, 3}, r)), param(random_tensor({2, 1, 1, 3}, r)), param(random_tensor({2}, r))};
       },
       [](In& in) { return conv_case(in, 1, 0); }},
      {"conv1x1_stride2_shortcut", [](Rng& r) { return In{param(random_tensor({2, 6, 6, 3}, r)), param(random_tensor({4, 1, 1, 3}, r))}; },
       [](In& in) { return conv_case(in, 2, 0); }},
      {"conv3x3_valid_non_square", [](Rng& r) { return In{param(random_tensor({2, 5, 4, 2}, r)), param(random_tensor({2, 3, 3, 2}, r))}; },
       [](In& in) { return conv_case(in, 1, 0); }},
      {"conv3x3_wide_padding_stride3",
       [](Rng& r) {
         return In{param(random_tensor({2, 4, 4, 1}, r)), param(random_tensor({2, 3, 3, 1}, r)), param(random_tensor({2}, r))};
       },
       [](In& in) { return conv_case(in, 3, 2); }},
      // ---- batch norm (engine/ops/batchnorm.*); inputs 3, 4: running mean and variance
      {"batch_norm_training_4d",
       [](Rng& r) {
         return In{param(random_tensor({2, 3, 2, 3}, r)), param(random_tensor({3}, r, 0.5, 1.5)), param(random_tensor({3}, r)),
                   random_tensor({3}, r), random_tensor({3}, r, 0.5, 2.0)};
       },
       [](In& in) { return batch_norm_case(in, true); }},
      {"batch_norm_training_2d",
       [](Rng& r) {
         return In{param(random_tensor({5, 4}, r)), param(random_tensor({4}, r, 0.5, 1.5)), param(random_tensor({4}, r)),
                   random_tensor({4}, r), random_tensor({4}, r, 0.5, 2.0)};
       },
       [](In& in) { return batch_norm_case(in, true); }},
      {"batch_norm_evaluation",
       [](Rng& r) {
         return In{param(random_tensor({2, 2, 2, 3}, r)), param(random_tensor({3}, r)), param(random_tensor({3}, r)),
                   random_tensor({3}, r), random_tensor({3}, r, 0.5, 2.0)};
       },
       [](In& in) { return batch_norm_case(in, false); }},
      // batch norm + ReLU fused (the same numbers as relu(batch_norm)): about half the outputs are cut
      {"batch_norm_relu_training_4d",
       [](Rng& r) {
         return In{param(random_tensor({2, 3, 2, 3}, r)), param(random_tensor({3}, r, 0.5, 1.5)), param(random_tensor({3}, r)),
                   random_tensor({3}, r), random_tensor({3}, r, 0.5, 2.0)};
       },
       [](In& in) { return batch_norm_case(in, true, true); }},
      {"batch_norm_relu_evaluation",
       [](Rng& r) {
         return In{param(random_tensor({2, 2, 2, 3}, r)), param(random_tensor({3}, r)), param(random_tensor({3}, r)),
                   random_tensor({3}, r), random_tensor({3}, r, 0.5, 2.0)};
       },
       [](In& in) { return batch_norm_case(in, false, true); }},
      // ---- group norm (engine/ops/group_norm.*): 6 channels in 3 groups; and in one group (layer norm)
      {"group_norm",
       [](Rng& r) {
         return In{param(random_tensor({2, 3, 2, 6}, r)), param(random_tensor({6}, r, 0.5, 1.5)), param(random_tensor({6}, r))};
       },
       [](In& in) { return group_norm(in[0], in[1], in[2], 3, 1e-5); }},
      {"group_norm_one_group",
       [](Rng& r) { return In{param(random_tensor({3, 4, 5}, r)), param(random_tensor({5}, r, 0.5, 1.5)), param(random_tensor({5}, r))}; },
       [](In& in) { return group_norm(in[0], in[1], in[2], 1, 1e-5); }},
      // ---- pooling (engine/ops/pool.*)
      {"avg_pool", [](Rng& r) { return In{param(random_tensor({2, 4, 6, 3}, r))}; }, [](In& in) { return avg_pool(in[0], 2); }},
      {"global_avg_pool", [](Rng& r) { return In{param(random_tensor({2, 3, 5, 4}, r))}; },
       [](In& in) { return global_avg_pool(in[0]); }},
      // ---- losses (engine/ops/loss.*)
      {"cross_entropy", [=](Rng& r) { return In{param(random_tensor({4, 5}, r, -3, 3)), ids({2, 0, 4, 4})}; },
       [](In& in) { return cross_entropy(in[0], in[1]); }},
      {"soft_cross_entropy",  // targets not normalised: the formula holds for any weights
       [](Rng& r) { return In{param(random_tensor({3, 6}, r, -3, 3)), random_tensor({3, 6}, r, 0, 1)}; },
       [](In& in) { return soft_cross_entropy(in[0], in[1]); }},
      // ---- layers built from ops: their own entries, so both tests cover them
      {"dropout_layer",  // the mask of stream 5 (the same on both devices), then x * mask / (1 - p)
       [](Rng& r) { return In{param(random_tensor({4, 50}, r))}; },
       [](In& in) {
         Dropout dropout(0.3);
         dropout.reseed(5);
         return dropout.forward(in[0]);
       }},
      // ---- the mixing ops (mixup/ops.*)
      {"mix_pairs", [=](Rng& r) { return In{param(random_tensor({4, 2, 3}, r)), ids({2, 0, 3, 1})}; },
       [](In& in) { return mix_pairs(in[0], in[1], 0.3); }},
      {"cutmix_paste", [=](Rng& r) { return In{param(random_tensor({3, 4, 3, 2}, r)), ids({1, 2, 0}), ids({1, 0, 3, 2})}; },
       [](In& in) { return cutmix_paste(in[0], in[1], in[2]); }},
      {"interpolate", [](Rng& r) { return In{param(random_tensor({4, 3}, r)), random_tensor({4, 6}, r, 0, 1)}; },
       [](In& in) { return interpolate(in[0], in[1]); }},
      {"interpolate_positions", [](Rng& r) { return In{param(random_tensor({4, 5, 3}, r)), random_tensor({5, 4, 6}, r, 0, 1)}; },
       [](In& in) { return interpolate_positions(in[0], in[1]); }},
      {"dense_soft_cross_entropy",
       [](Rng& r) {
         Tensor s = random_tensor({3, 4}, r, 0, 1);
         s.data<double>()[5] = 0;                                       // a column without weight
         for (int k = 0; k < 4; ++k) s.data<double>()[2 * 4 + k] = 0;  // a position without weight
         return In{param(random_tensor({3, 4, 5}, r, -2, 2)), random_tensor({3, 4, 5}, r, 0, 1), s};
       },
       [](In& in) { return dense_soft_cross_entropy(in[0], in[1], in[2]); }},
  };
  return cases;
}

// Ops without a gradient: only the CPU-versus-GPU forward (test_cuda.cpp).
inline std::vector<OpCase> forward_only_op_cases() {
  using In = std::vector<Tensor>;
  return {
      {"projected_sign_step",
       [](Rng& r) { return In{random_tensor({1000}, r, 0, 1), random_tensor({1000}, r, 0, 1), random_tensor({1000}, r)}; },
       [](In& in) { return projected_sign_step(in[0], in[1], in[2], 0.1, 0.05); }},
      {"random_uniform",  // the same (seed, index) -> value on both devices; the input only carries the device
       [](Rng& r) { return In{random_tensor({1000}, r)}; },
       [](In& in) { return random_uniform(in[0].shape(), 7, in[0].device()); }},
      {"random_bernoulli", [](Rng& r) { return In{random_tensor({1000}, r)}; },
       [](In& in) { return random_bernoulli(in[0].shape(), 0.3, 7, in[0].device()); }},
      {"softmax", [](Rng& r) { return In{random_tensor({5, 10}, r, -4, 4)}; }, [](In& in) { return softmax(in[0]); }},
      {"mix_labels",  // labels on the host: the op moves them where the weights are
       [](Rng& r) { return In{random_tensor({3, 5, 7}, r, 0, 1)}; },
       [](In& in) { return mix_labels(Tensor::from_vector<int64_t>({3, 0, 9, 9, 1}, {5}), 10, in[0]); }},
      {"one_hot_positions",
       [](Rng&) { return In{Tensor::from_vector<int64_t>({3, 0, 9, 9, 1}, {5})}; },
       [](In& in) { return one_hot_positions(in[0], 10, 3); }},
  };
}

}  // namespace mm::testing
