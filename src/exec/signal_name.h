// Names of signals as a person (and the Python original's replies) spell them.
#pragma once

#include <string>

namespace harness {

// "SIGTERM", "SIGKILL", ... for the signals glibc knows; "SIGRTMIN", "SIGRTMIN+3" for
// real-time signals; "SIG<n>" (e.g. "SIG0", "SIG99") for anything else.
std::string signal_name(int signum);

}  // namespace harness
