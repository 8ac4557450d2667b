#include "exec/signal_name.h"

#include <csignal>
#include <cstring>

namespace harness {

std::string signal_name(int signum) {
  if (const char* abbrev = sigabbrev_np(signum)) return std::string("SIG") + abbrev;
  // SIGRTMIN is a function call in glibc (the threading library reserves the first few).
  if (signum >= SIGRTMIN && signum <= SIGRTMAX) {
    if (signum == SIGRTMIN) return "SIGRTMIN";
    return "SIGRTMIN+" + std::to_string(signum - SIGRTMIN);
  }
  return "SIG" + std::to_string(signum);
}

}  // namespace harness
