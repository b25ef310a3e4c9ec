#include "layers/group_norm.h"

#include "engine/ops.h"

namespace mm {

GroupNorm::GroupNorm(int groups_, int channels, double eps_) : groups(groups_), eps(eps_) {
  MM_CHECK(groups >= 1 && channels % groups == 0, "GroupNorm: {} channels do not split into {} groups", channels, groups);
  weight = register_parameter("weight", Tensor::full({channels}, 1.0));
  bias = register_parameter("bias", Tensor::zeros({channels}));
}

Tensor GroupNorm::forward(const Tensor& x) { return group_norm(x, weight, bias, groups, eps); }

}  // namespace mm
