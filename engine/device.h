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

// Work that may run beside the rest of a GPU step, on a second CUDA stream (docs/architecture.md
// "Two streams"): the distillation teacher's forward beside the student's. Made where that work's
// inputs are ready (the fork point); run(f) queues what f does on the second stream, which starts
// from the fork point, and makes whatever the step queues after run() wait for it. Disabled, or on
// the CPU, run(f) just calls f: the same work in the same order.
class SideStream {
 public:
  SideStream(Device device, bool enabled);
  template <class F>
  auto run(F&& f) {
    if (!enabled_) return f();
    begin();
    try {
      auto result = f();
      end();
      return result;
    } catch (...) {
      end_after_error();
      throw;
    }
  }

 private:
  void begin();
  void end();
  void end_after_error() noexcept;
  bool enabled_;
};

}  // namespace mm
