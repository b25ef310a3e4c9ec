#pragma once
// The distillation teacher (docs/math.md §3): an exponential moving average of the student's parameters
// and BN buffers, updated after every optimiser step: t <- beta t + (1 - beta) s (math::ema).
// An optimiser-side update, not an autograd op. num_batches_tracked is copied.
#include "models/network.h"

namespace mm {

// Requires teacher and student of the same architecture (same names and shapes).
void ema_update(Network& teacher, const Network& student, double beta);
// Copies every parameter and buffer (the teacher's start).
void copy_weights(Network& to, const Network& from);

}  // namespace mm
