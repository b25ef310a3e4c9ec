#pragma once
// Accuracy counts for evaluation (SPEC §4: top-1 and top-5).
#include "engine/tensor.h"

namespace mm {

// logits: F32 [N, C] on any device, labels: I64 [N] -> the number of rows whose label is among the
// k highest logits. Ties go to the smaller class index, as an argmax does, so k = 1 counts the
// rows whose argmax is the label. Requires 1 <= k.
int64_t count_top_k(const Tensor& logits, const Tensor& labels, int k);

}  // namespace mm
