#include "layers/norm.h"

#include <numeric>

#include "layers/batchnorm2d.h"
#include "layers/group_norm.h"

namespace mm {

NormKind parse_norm(const std::string& name) {
  if (name == "batch") return NormKind::Batch;
  if (name == "group") return NormKind::Group;
  throw Error(fmt::format("unknown normalisation '{}' (batch or group)", name));
}

std::string norm_name(NormKind kind) { return kind == NormKind::Batch ? "batch" : "group"; }

std::unique_ptr<Norm> make_norm(NormKind kind, int channels, double momentum) {
  if (kind == NormKind::Group) return std::make_unique<GroupNorm>(std::gcd(32, channels), channels);
  return std::make_unique<BatchNorm2d>(channels, momentum);
}

}  // namespace mm
