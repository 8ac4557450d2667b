#include "core/json.h"

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <vector>

#include "core/error.h"

namespace harness {

void append_member(Json& object, std::string key, Json value) {
  object.get_ptr<Json::object_t*>()->emplace_back(std::move(key), std::move(value));
}

namespace {

// Objects up to this size check for duplicate keys by scanning; larger ones keep a hash set.
constexpr std::size_t kLinearKeyCheckLimit = 16;

class OrderedDomBuilder : public nlohmann::json_sax<Json> {
 public:
  Json result;

  explicit OrderedDomBuilder(JsonMemberSink* sink = nullptr) : sink_(sink) {}

  bool null() override { return add(Json(nullptr)); }
  bool boolean(bool v) override { return add(Json(v)); }
  bool number_integer(number_integer_t v) override { return add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add(Json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return add(Json(v)); }
  bool string(string_t& v) override { return add(Json(std::move(v))); }
  bool binary(binary_t& v) override { return add(Json::binary(std::move(v))); }

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Frame& frame = stack_.back();
    auto& members = *frame.value.get_ptr<Json::object_t*>();
    if (!frame.keys && members.size() >= kLinearKeyCheckLimit) {
      frame.keys = std::make_unique<std::unordered_set<std::string>>();
      for (const auto& member : members) frame.keys->insert(member.first);
    }
    const bool duplicate = frame.keys ? !frame.keys->insert(k).second
                                      : std::any_of(members.begin(), members.end(),
                                                    [&](const auto& m) { return m.first == k; });
    if (duplicate) throw Error::invalid("invalid JSON: duplicate key '" + k + "'");
    frame.pending_key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    // nlohmann's messages start with "[json.exception.parse_error.101] parse error at ...".
    auto colon = what.find("] ");
    throw Error::invalid("invalid JSON at byte " + std::to_string(position) + ": " +
                         (colon == std::string::npos ? what : what.substr(colon + 2)));
  }

 private:
  struct Frame {
    Json value;
    std::string pending_key;  // for objects: the key the next value belongs to
    std::unique_ptr<std::unordered_set<std::string>> keys;
    bool taken = false;  // its members go to the sink
  };

  bool open(Json container) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth)
      throw Error::invalid("invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels");
    Frame frame{std::move(container), {}, nullptr};
    if (sink_) {
      if (!stack_.empty()) path_.push_back(stack_.back().pending_key);
      frame.taken = sink_->takes(path_, frame.value.is_array());
      // A taken object keeps no members to search: its keys are checked against a set.
      if (frame.taken && frame.value.is_object())
        frame.keys = std::make_unique<std::unordered_set<std::string>>();
    }
    stack_.push_back(std::move(frame));
    return true;
  }

  bool close() {
    Json done = std::move(stack_.back().value);
    stack_.pop_back();
    if (sink_ && !stack_.empty()) path_.pop_back();
    return add(std::move(done));
  }

  bool add(Json value) {
    if (stack_.empty()) {
      result = std::move(value);
      return true;
    }
    Frame& parent = stack_.back();
    if (parent.taken) {
      sink_->take(path_, parent.value.is_object() ? std::move(parent.pending_key) : std::string(),
                  std::move(value));
      return true;
    }
    if (parent.value.is_object())
      append_member(parent.value, std::move(parent.pending_key), std::move(value));
    else
      parent.value.get_ptr<Json::array_t*>()->push_back(std::move(value));
    return true;
  }

  std::vector<Frame> stack_;
  JsonMemberSink* sink_;
  std::vector<std::string> path_;  // with a sink: the keys leading to the innermost open frame
};

}  // namespace

namespace {

Json parse_with(std::string_view text, JsonMemberSink* sink) {
  // nlohmann's lexer takes a NUL byte for the end of the input and would ignore what follows
  // it ("{}\0junk" parses). No raw NUL is valid anywhere in JSON text.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    throw Error::invalid("invalid JSON at byte " + std::to_string(nul + 1) + ": NUL byte");
  OrderedDomBuilder builder(sink);
  Json::sax_parse(text.begin(), text.end(), &builder);
  return std::move(builder.result);
}

}  // namespace

Json parse_json(std::string_view text) { return parse_with(text, nullptr); }

Json parse_json(std::string_view text, JsonMemberSink& sink) { return parse_with(text, &sink); }

void append_json_string(std::string& out, std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {  // escapes, non-ASCII and invalid UTF-8: nlohmann's rules
    out += Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace harness
