// For tests of what fails: the message of the harness::Error a call throws.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace harness::test_support {

// Runs `fn`, expecting a harness::Error of `kind`, and returns its message; a test failure
// when `fn` throws nothing.
template <typename Fn>
std::string error_of(Error::Kind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return {};
}

}  // namespace harness::test_support
