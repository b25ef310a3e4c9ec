#pragma once
#include <string>

namespace mm {

enum class DeviceType { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda"; }
};

inline Device cpu() { return Device{DeviceType::CPU}; }
inline Device cuda_device() { return Device{DeviceType::CUDA}; }

// True when this build has the CUDA backend and a GPU is present at run time.
bool cuda_available();

// Parses "cpu", "cuda" or "auto" (cuda when available, else cpu); throws on anything else.
Device parse_device(const std::string& name);

// Waits until the work queued on `device` is done (nothing to wait for on the CPU): what a clock
// around GPU work needs.
void synchronize(Device device);

// GPU matrix products and convolutions in TF32 (tensor cores, 10-bit mantissa) or exact float32.
// Off unless a run asks for it (--precision tf32): parity tests compare exact float32. Nothing
// changes on the CPU.
void allow_tf32(Device device, bool on);
// Whether the device has bfloat16 and TF32 tensor cores: a GPU of compute capability 8.0 or later.
bool has_bf16_tensor_cores(Device device);

}  // namespace mm
