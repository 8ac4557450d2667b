#include "cli/mcp_jsonrpc.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace harness {

namespace {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

bool valid_id(const Json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

JsonRpcMessage parse_jsonrpc_line(std::string_view line) {
  if (blank(line)) return JsonRpcIgnored{};
  Json j;
  try {
    j = parse_json(line);
  } catch (const Error& e) {
    return JsonRpcFailure{nullptr, JsonRpcCode::kParseError,
                          std::string("Parse error: ") + e.what()};
  }
  if (!j.is_object())
    return JsonRpcFailure{nullptr, JsonRpcCode::kInvalidRequest,
                          j.is_array() ? "Invalid Request: batches are not supported"
                                       : "Invalid Request: not a JSON object"};
  const auto id = j.find("id");
  const bool has_id = id != j.end() && !id->is_null();
  const Json reply_id = has_id && valid_id(*id) ? *id : Json(nullptr);
  auto invalid = [&](const std::string& why) {
    return JsonRpcFailure{reply_id, JsonRpcCode::kInvalidRequest, "Invalid Request: " + why};
  };
  if (j.value("jsonrpc", Json()) != "2.0") return invalid("\"jsonrpc\" must be \"2.0\"");
  const auto method = j.find("method");
  if (method == j.end()) {
    if (j.contains("result") || j.contains("error")) return JsonRpcIgnored{};
    return invalid("no \"method\"");
  }
  if (has_id && !valid_id(*id)) return invalid("\"id\" must be a string or an integer");
  if (!method->is_string()) return invalid("\"method\" must be a string");
  JsonRpcCall call;
  if (has_id) call.id = *id;
  call.method = method->get<std::string>();
  if (const auto params = j.find("params"); params != j.end() && !params->is_null()) {
    if (!params->is_object()) return invalid("\"params\" must be an object");
    call.params = *params;
  }
  return call;
}

std::string jsonrpc_result(const Json& id, const Json& result) {
  return dump(Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
}

std::string jsonrpc_error(const Json& id, JsonRpcCode code, std::string_view message) {
  return dump(Json{{"jsonrpc", "2.0"},
                   {"id", id},
                   {"error", {{"code", static_cast<int>(code)}, {"message", message}}}});
}

}  // namespace harness
