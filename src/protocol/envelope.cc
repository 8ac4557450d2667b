#include "protocol/envelope.h"

#include "core/error.h"

namespace harness {

std::string ok_reply(const Json& data) {
  return ok_reply_serialized(data.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string ok_reply_serialized(std::string_view data_json) {
  std::string out;
  // + 1: room for the newline the session appends, so that sending it does not copy it.
  out.reserve(kOkReplyHead.size() + data_json.size() + kOkReplyTail.size() + 1);
  out += kOkReplyHead;
  out += data_json;
  out += kOkReplyTail;
  return out;
}

std::string error_reply(std::string_view message) {
  // Invalid UTF-8 from a hostile request must not make the reply itself unserialisable.
  return Json{{"status", "error"}, {"message", message}}.dump(-1, ' ', false,
                                                              Json::error_handler_t::replace);
}

ReplyEnvelope parse_reply(std::string_view line) {
  Json reply;
  try {
    reply = parse_json(line);
  } catch (const Error& e) {
    throw Error::io(std::string("the daemon's reply is not JSON: ") + e.what());
  }
  const auto status = reply.is_object() ? reply.find("status") : reply.end();
  if (status == reply.end() || !status->is_string())
    throw Error::io("the daemon's reply has no status: " + std::string(line.substr(0, 200)));
  ReplyEnvelope envelope;
  envelope.ok = *status == "ok";
  if (envelope.ok) {
    if (auto data = reply.find("data"); data != reply.end()) envelope.data = std::move(*data);
  } else {
    envelope.message = reply.value("message", std::string("unknown error"));
  }
  return envelope;
}

}  // namespace harness
