// The plan-file parser: `plan_import --file`, `harness plan import` and update_state bodies are
// read as workflow_from_json(parse_json(text)), then validated (duplicate ids, missing
// dependencies, cycles) before anything is written. See fuzz_check.h for the properties; the
// seed corpus (corpus/fuzz_plan_file) holds plans in list, map and {"tasks": ...} forms.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace harness::fuzz;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  must_not_throw("the plan-file parser throws only harness::Error",
                 [&] { check_workflow_file(text); });
  return 0;
}
