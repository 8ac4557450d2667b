#include "web/dashboard_page.h"

namespace harness {

std::string_view dashboard_page() {
  static constexpr std::string_view kPage =
#include "web/dashboard_page.inc"
      ;
  return kPage;
}

}  // namespace harness
