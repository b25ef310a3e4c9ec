#pragma once
// The normalisation layer of a model, chosen by name: batch norm (the paper's models) or group
// norm (engine/ops/group_norm.h). The models hold a Norm and call forward on it.
#include <memory>
#include <string>

#include "engine/ops/elementwise.h"
#include "layers/module.h"

namespace mm {

enum class NormKind { Batch, Group };
NormKind parse_norm(const std::string& name);  // "batch" or "group"; throws otherwise
std::string norm_name(NormKind kind);

class Norm : public Module {
 public:
  // x: [N, H, W, C] or [N, C] -> same shape
  virtual Tensor forward(const Tensor& x) = 0;
  // relu(forward(x)); batch norm does both in one pass (engine/ops/batchnorm.h)
  virtual Tensor forward_relu(const Tensor& x) { return relu(forward(x)); }
};

// BatchNorm2d(channels, momentum), or GroupNorm with gcd(32, channels) groups (32 groups as Wu and
// He use, fewer where the channels do not divide; momentum does not apply).
std::unique_ptr<Norm> make_norm(NormKind kind, int channels, double momentum = 0.1);

}  // namespace mm
