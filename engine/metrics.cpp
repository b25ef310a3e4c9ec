#include "engine/metrics.h"

namespace mm {

int64_t count_top_k(const Tensor& logits, const Tensor& labels, int k) {
  MM_CHECK(logits.ndim() == 2 && logits.dtype() == DType::F32, "count_top_k: logits must be F32 [N, C], got {} {}",
           dtype_name(logits.dtype()), shape_str(logits.shape()));
  check_shape(labels, {logits.dim(0)}, "count_top_k labels");
  MM_CHECK(labels.dtype() == DType::I64 && k >= 1, "count_top_k: labels must be I64 and k >= 1");
  const Tensor z = logits.to(cpu()), y = labels.to(cpu());
  const int64_t N = z.dim(0), C = z.dim(1);
  int64_t hits = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = z.data<float>() + i * C;
    const int64_t label = y.data<int64_t>()[i];
    MM_CHECK(label >= 0 && label < C, "count_top_k: label {} of row {} is outside [0, {})", label, i, C);
    // the label's rank: the classes an argmax would prefer to it
    int64_t rank = 0;
    for (int64_t c = 0; c < C; ++c) rank += row[c] > row[label] || (row[c] == row[label] && c < label);
    hits += rank < k;
  }
  return hits;
}

}  // namespace mm
