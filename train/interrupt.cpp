#include "train/interrupt.h"

#include <csignal>

namespace mm {
namespace {
volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_signal(int sig) {
  g_stop = 1;
  std::signal(sig, SIG_DFL);  // the next one of the same kind ends the process the default way
}
}  // namespace

void stop_on_signals() {
  static const bool installed = [] {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return true;
  }();
  (void)installed;
}

bool stop_requested() { return g_stop != 0; }
void request_stop() { g_stop = 1; }

}  // namespace mm
