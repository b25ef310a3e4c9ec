#pragma once
// A module's parameters and buffers as a flat map of PyTorch names to tensors in PyTorch layouts,
// and the way back. This is what weights files and checkpoints hold (docs/architecture.md "Interfaces").
#include <map>
#include <string>

#include "engine/safetensors.h"
#include "layers/module.h"

namespace mm {

// name -> tensor in file layout (CPU copies where a layout changes, else the module's own tensor).
std::map<std::string, Tensor> state_dict(const Module& module);

// Copies every parameter and buffer of `module` from file[prefix + name], converting layouts.
// Throws an error naming the file and tensor when one is missing, holds a NaN or infinity, or its shape or dtype differ
// (e.g. a checkpoint of another model or width). Tensors of the file that the module lacks are
// an error too, unless they fall outside `prefix`.
void load_state_dict(Module& module, const TensorFile& file, const std::string& prefix = "");

}  // namespace mm
