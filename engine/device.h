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

}  // namespace mm
