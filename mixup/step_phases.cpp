#include "mixup/step_phases.h"

namespace mm {

const char* phase_name(Phase phase) {
  static const char* const names[kPhases] = {"draws", "student", "teacher", "loss", "backward", "update"};
  return names[static_cast<int>(phase)];
}

PhaseClock::PhaseClock(PhaseSeconds* sink, Device device) : sink_(sink), device_(device) {
  if (sink_) {
    synchronize(device_);  // what came before the step is not its work
    last_ = std::chrono::steady_clock::now();
  }
}

void PhaseClock::end(Phase phase) {
  if (!sink_) return;
  synchronize(device_);
  const auto now = std::chrono::steady_clock::now();
  (*sink_)[static_cast<int>(phase)] += std::chrono::duration<double>(now - last_).count();
  last_ = now;
}

PhaseClock& PhaseClock::none() {
  static PhaseClock clock(nullptr, cpu());
  return clock;
}

}  // namespace mm
