#pragma once
// Where a training step's time goes, phase by phase (bench --phases): the draws, the student's
// forward with its mixed targets, the teacher's forward (distillation), the loss, the backward, and
// the update (SGD and the EMA teacher). Each phase's end waits for the device, so the clock only
// runs where it is asked for.
#include <array>
#include <chrono>

#include "engine/device.h"

namespace mm {

enum class Phase { Draws, Student, Teacher, Loss, Backward, Update };
constexpr int kPhases = 6;
const char* phase_name(Phase phase);

// Seconds per phase (indexed by Phase), summed over the steps timed so far.
using PhaseSeconds = std::array<double, kPhases>;

// Marks the ends of a step's phases: end(p) adds the time since the previous end (or since the
// clock was made) to phase p of the sink. Without a sink it does nothing, not even wait.
class PhaseClock {
 public:
  PhaseClock(PhaseSeconds* sink, Device device);
  void end(Phase phase);
  // A clock without a sink, for callers that time nothing.
  static PhaseClock& none();

 private:
  PhaseSeconds* sink_;
  Device device_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mm
