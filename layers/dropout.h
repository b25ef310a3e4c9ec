#pragma once
// Dropout(p): in training, each element is kept with probability 1 - p and scaled by 1 / (1 - p),
// so the expected output is x; in evaluation, the identity. Built from ops only (README, "Adding
// a layer"): the mask is random_bernoulli, the same on both devices for one seed, and the scaling
// is mul. The masks are a function of the seed given to reseed() and the number of forwards since.
#include <cstdint>

#include "engine/ops/random.h"
#include "layers/module.h"

namespace mm {

class Dropout : public Module {
 public:
  explicit Dropout(double p);
  // The next forwards draw from stream `seed`: forward k since this call uses mask k (its salt
  // derived from the seed's salt and k, its key the seed's).
  void reseed(const Seed& seed);
  // x: any -> same shape
  Tensor forward(const Tensor& x);
  double p;

 private:
  Seed seed_;
  uint64_t calls_ = 0;
};

}  // namespace mm
