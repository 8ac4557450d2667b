// The dashboard's page: web/dashboard.html, built into the binary (CMake makes its text a
// raw string literal at build time), so that harness web needs no file beside it.
#pragma once

#include <string_view>

namespace harness {

std::string_view dashboard_page();

}  // namespace harness
