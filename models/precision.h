#pragma once
// --precision: how a run computes (docs/architecture.md "Precision").
//   fp32  float32 everywhere, exact: the CPU's only mode, and the parity tests'.
//   tf32  float32 tensors; cuBLAS and cuDNN round the operands of their products to TF32 (10-bit
//         mantissa) on the tensor cores and sum in float32.
//   bf16  the encoders' activations and convolution operands in bfloat16 on the tensor cores, sums
//         in float32 (models/network.h set_compute_dtype); the weights (a float32 master copy), the
//         optimiser, the BN statistics, the classifier, the mixing and the losses in exact float32.
// tf32 and bf16 need a GPU of compute capability 8.0 or later.
#include <initializer_list>
#include <string>

#include "engine/device.h"
#include "models/network.h"

namespace mm {

enum class Precision { Fp32, Tf32, Bf16 };

Precision parse_precision(const std::string& name);  // "fp32", "tf32" or "bf16"; throws otherwise
const char* precision_name(Precision precision);
// Training's default: bf16 on a GPU with bfloat16 tensor cores, fp32 elsewhere.
Precision default_training_precision(Device device);
// Throws, naming the device, unless it can compute in `precision`.
void check_precision(Precision precision, Device device);
// Sets the device's math mode and the compute dtype of each network (null ones skipped). Throws,
// naming the device, when it cannot compute that way.
void apply_precision(Precision precision, Device device, std::initializer_list<Network*> networks);

}  // namespace mm
