#include "models/precision.h"

namespace mm {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "tf32") return Precision::Tf32;
  if (name == "bf16") return Precision::Bf16;
  throw Error(fmt::format("--precision: unknown precision '{}' (fp32, tf32 or bf16)", name));
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Fp32: return "fp32";
    case Precision::Tf32: return "tf32";
    case Precision::Bf16: return "bf16";
  }
  return "?";
}

Precision default_training_precision(Device device) {
  return has_bf16_tensor_cores(device) ? Precision::Bf16 : Precision::Fp32;
}

void check_precision(Precision precision, Device device) {
  MM_CHECK(precision == Precision::Fp32 || has_bf16_tensor_cores(device),
           "--precision {} needs a GPU of compute capability 8.0 or later; {} computes in fp32", precision_name(precision),
           device.is_cuda() ? "this GPU" : "the CPU");
}

void apply_precision(Precision precision, Device device, std::initializer_list<Network*> networks) {
  check_precision(precision, device);
  // bf16 keeps what is not the encoder in exact float32: no TF32 for the classifier and the mixing
  allow_tf32(device, precision == Precision::Tf32);
  for (Network* net : networks)
    if (net) net->set_compute_dtype(precision == Precision::Bf16 ? DType::BF16 : DType::F32);
}

}  // namespace mm
