#include "exec/signal_name.h"

#include <csignal>

#include <gtest/gtest.h>

namespace harness {
namespace {

TEST(SignalName, NamesCommonSignals) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(SIGPIPE), "SIGPIPE");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
}

TEST(SignalName, NamesRealTimeSignals) {
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
}

TEST(SignalName, FallsBackToTheNumber) {
  EXPECT_EQ(signal_name(0), "SIG0");
  EXPECT_EQ(signal_name(99), "SIG99");
  EXPECT_EQ(signal_name(-1), "SIG-1");
}

}  // namespace
}  // namespace harness
