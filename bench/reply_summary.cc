#include "reply_summary.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace harness::bench {

namespace {

// Keeps the key under which each open object or array sits (keys_[0] is the reply's own
// level) and records the few values a ReplySummary holds.
class Summarizer : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Summarizer(ReplySummary& out) : out_(out) {}

  bool null() override { return true; }
  bool boolean(bool value) override {
    if (at({"data", "is_retry"})) out_.is_retry = value;
    if (at({"data", "is_reclaim"})) out_.is_reclaim = value;
    return true;
  }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& value) override {
    if (at({"status"})) out_.ok = value == "ok";
    if (at({"message"})) out_.message = value;
    if (at({"data", "task", "id"})) out_.task_id = value;
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (at({"data", "task"})) out_.has_task = true;
    return open();
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    keys_.back() = key;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    throw Error::io("invalid reply at byte " + std::to_string(position) + ": " + e.what());
  }

 private:
  // Whether the value being read sits at `path` from the top.
  bool at(std::initializer_list<std::string_view> path) const {
    if (keys_.size() != path.size()) return false;
    std::size_t i = 0;
    for (std::string_view key : path)
      if (keys_[i++] != key) return false;
    return true;
  }
  bool open() {
    keys_.emplace_back();
    return true;
  }
  bool close() {
    keys_.pop_back();
    return true;
  }

  ReplySummary& out_;
  std::vector<std::string> keys_;
};

}  // namespace

ReplySummary summarize_reply(std::string_view line) {
  ReplySummary summary;
  Summarizer summarizer(summary);
  nlohmann::json::sax_parse(line.begin(), line.end(), &summarizer);
  return summary;
}

}  // namespace harness::bench
