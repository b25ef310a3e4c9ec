#pragma once
// The differentiable ops. Each takes and returns Tensors, dispatches on the inputs' device
// (CPU kernels here; CUDA kernels in engine/cuda), and records its backward on the tape when an
// input requires grad (engine/autograd.h). Every backward accumulates into the inputs' gradients.
// CPU kernels accept float32 and float64 (float64 is for the gradient checker).
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/ops/loss.h"
#include "engine/ops/pool.h"
#include "engine/ops/random.h"
#include "engine/ops/reduce.h"
#include "engine/tensor.h"

namespace mm {

}  // namespace mm
