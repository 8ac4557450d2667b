// A small example plan in each format (`harness plan template`): three tasks, the second and
// third after the first, with the fields the format has. Each imports as it is.
#pragma once

#include <string_view>

#include "plan/plan_format.h"

namespace harness {

std::string_view plan_template(PlanFormat format);

}  // namespace harness
