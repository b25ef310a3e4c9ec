#pragma once
// Stopping a run cleanly on Ctrl-C (SIGINT) or SIGTERM (a batch system's end of time): the signal
// only raises a flag; the training loop looks at it after every step, writes a checkpoint of that
// point and returns, so nothing is cut half-way. A second signal ends the process at once (the
// checkpoint files are written atomically, so even then no file is left half-written).
namespace mm {

// Installs the handlers (once per process; later calls do nothing).
void stop_on_signals();
// True once SIGINT or SIGTERM has arrived (or request_stop was called).
bool stop_requested();
// What a signal does, for tests and for callers that stop for their own reasons.
void request_stop();

// The exit status of a run stopped by a signal, as shells report a process ended by SIGINT.
constexpr int kInterruptedExitStatus = 130;

}  // namespace mm
