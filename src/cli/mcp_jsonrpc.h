// JSON-RPC 2.0 as MCP's stdio transport carries it: one message per line, UTF-8, no embedded
// newlines, no batches (MCP 2025-06-18 dropped them). This file reads a line into a message and
// writes the replies; what the methods mean is mcp_server.h's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/json.h"

namespace harness {

// The error codes of JSON-RPC 2.0 that an MCP server answers with.
enum class JsonRpcCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
};

// A request (with an id: it gets exactly one reply) or a notification (without: never
// answered). A response the client sends us (we never ask it anything) is neither.
struct JsonRpcCall {
  std::optional<Json> id;  // a string or a number; nullopt for a notification
  std::string method;
  Json params;  // an object, or null when absent
  bool is_notification() const { return !id.has_value(); }
};

// Why a line is not a call, and the id to answer it under (null when it could not be read).
struct JsonRpcFailure {
  Json id;
  JsonRpcCode code;
  std::string message;
};

// A line the client sent that needs no answer: a response or an error reply to a request of
// ours, or an empty line.
struct JsonRpcIgnored {};

using JsonRpcMessage = std::variant<JsonRpcCall, JsonRpcFailure, JsonRpcIgnored>;

// Reads one line: a call; a failure (parse error for text that is not JSON, invalid request for
// JSON that is not a JSON-RPC 2.0 request: a batch, a wrong "jsonrpc", an id that is neither a
// string nor a number, a method that is not a string, params that are not an object); or
// ignored (a response, or a line of whitespace).
JsonRpcMessage parse_jsonrpc_line(std::string_view line);

// The reply lines, without newline: {"jsonrpc":"2.0","id":ID,"result":RESULT} and
// {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M}}. Invalid UTF-8 is replaced.
std::string jsonrpc_result(const Json& id, const Json& result);
std::string jsonrpc_error(const Json& id, JsonRpcCode code, std::string_view message);

}  // namespace harness
