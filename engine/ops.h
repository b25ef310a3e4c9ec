#pragma once
// The index of the ops: include this to use any of them. Each op family lives in engine/ops/ in one
// shape (docs/architecture.md "Ops"):
//   <family>.h            the contract: shapes, the forward and backward formulas
//   <family>_math.h       the per-element math, MM_HD functions shared by the CPU and the GPU
//   <family>_kernels.h    the kernels behind one device-neutral interface (mm::kernels), and the
//                         raw CUDA entry points (mm::cuda)
//   <family>_kernels.cpp  the dispatch to the device and the CPU loops (float32 and float64)
//   <family>.cu           the CUDA kernels
//   <family>.cpp          the ops with their autograd, no device code
// Every backward accumulates into the inputs' gradients. A new op family adds its files and one
// line here; its test is one entry in tests/op_cases.h.
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/group_norm.h"
#include "engine/ops/linear.h"
#include "engine/ops/loss.h"
#include "engine/ops/pool.h"
#include "engine/ops/random.h"
#include "engine/ops/reduce.h"
