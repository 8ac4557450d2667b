#include "protocol/request_codec.h"

#include "core/error.h"
#include "protocol/flat_request.h"

namespace harness {

Request parse_request(std::string_view line) {
  if (std::optional<Request> flat = parse_flat_request(line)) return std::move(*flat);
  return parse_request_fully(line);
}

Request parse_request_fully(std::string_view line) { return request_from_json(parse_json(line)); }

Request request_from_json(const Json& request) {
  if (!request.is_object()) throw Error::invalid("request must be a JSON object");
  const auto command = request.find("command");
  if (command == request.end() || command->is_null())
    throw Error::invalid("missing field 'command'");
  if (!command->is_string()) throw Error::invalid("field 'command' must be a string");
  const std::string& name = command->get_ref<const std::string&>();
  std::optional<Request> parsed;
  Commands::find([&]<typename Command>(Command) {
    if (Command::kName != name) return false;
    parsed.emplace(Command::Request::from_json(request));
    return true;
  });
  if (!parsed) throw Error::invalid("unknown command '" + name + "'");
  return std::move(*parsed);
}

std::string encode_request(const Request& request) {
  return std::visit(
      [](const auto& r) {
        Json line{{"command", command_name_of<std::decay_t<decltype(r)>>}};
        line.update(r.to_json());
        return line.dump(-1, ' ', false, Json::error_handler_t::replace);
      },
      request);
}

}  // namespace harness
