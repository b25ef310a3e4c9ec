#include "models/network.h"

#include "models/preact_resnet.h"
#include "models/wide_resnet.h"

namespace mm {

void Network::set_dropout(double p) {
  if (!dropout_) dropout_ = &register_module("dropout", std::make_unique<Dropout>(p));
  dropout_->p = p;
  MM_CHECK(0 <= p && p < 1, "dropout: p = {} is not in [0, 1)", p);
}

void Network::set_compute_dtype(DType dtype) {
  MM_CHECK(dtype == DType::F32 || dtype == DType::BF16, "a network computes in F32 or BF16, not {}", dtype_name(dtype));
  compute_dtype_ = dtype;
}

int default_width(const std::string& name) {
  if (name == "preactresnet18") return 64;
  if (name == "wrn16_8") return 8;
  throw Error(fmt::format("unknown model '{}' (expected preactresnet18 or wrn16_8)", name));
}

std::unique_ptr<Network> make_network(const std::string& name, int width, int num_classes, uint64_t seed, NormKind norm) {
  if (width <= 0) width = default_width(name);
  MM_CHECK(num_classes >= 1, "number of classes must be positive, got {}", num_classes);
  Rng rng(seed);
  if (name == "preactresnet18") return std::make_unique<PreActResNet18>(width, num_classes, norm, rng);
  if (name == "wrn16_8") return std::make_unique<WideResNet16>(width, num_classes, norm, rng);
  default_width(name);  // throws the unknown-model error
  return nullptr;
}

}  // namespace mm
