#include "reply_summary.h"

#include <algorithm>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace harness::bench {

namespace {

using Path = std::initializer_list<std::string_view>;

constexpr std::string_view kClaimInData[] = {"data"};
constexpr std::string_view kClaimInNext[] = {"data", "next"};

// Keeps the key under which each open object or array sits (keys_[0] is the reply's own
// level) and records the few values a ReplySummary holds.
class Summarizer : public nlohmann::json_sax<nlohmann::json> {
 public:
  Summarizer(ReplySummary& out, ClaimAt claim_at)
      : out_(out),
        claim_(claim_at == ClaimAt::kData ? std::span<const std::string_view>(kClaimInData)
                                          : std::span<const std::string_view>(kClaimInNext)) {}

  bool null() override { return true; }
  bool boolean(bool value) override {
    if (at_claim({"is_retry"})) out_.is_retry = value;
    if (at_claim({"is_reclaim"})) out_.is_reclaim = value;
    if (at_claim({"plan_complete"})) out_.plan_complete = value;
    return true;
  }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& value) override {
    if (at({"status"})) out_.ok = value == "ok";
    if (at({"message"})) out_.message = value;
    if (at({"data", "task_id"})) out_.completed_id = value;
    if (at_claim({"task", "id"})) out_.task_id = value;
    if (at_claim({"lease"})) out_.lease = value;
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (at_claim({"task"})) out_.has_task = true;
    if (at_claim({})) out_.has_claim = true;
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
  bool at(Path path) const { return at({}, path); }

  // Whether the value being read sits at `path` from the claim's data.
  bool at_claim(Path path) const { return at(claim_, path); }

  // Whether the value being read sits at `head` followed by `tail` from the top.
  bool at(std::span<const std::string_view> head, Path tail) const {
    if (keys_.size() != head.size() + tail.size()) return false;
    return std::equal(head.begin(), head.end(), keys_.begin()) &&
           std::equal(tail.begin(), tail.end(), keys_.begin() + head.size());
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
  const std::span<const std::string_view> claim_;
  std::vector<std::string> keys_;
};

}  // namespace

ReplySummary summarize_reply(std::string_view line, ClaimAt claim_at) {
  ReplySummary summary;
  Summarizer summarizer(summary, claim_at);
  nlohmann::json::sax_parse(line.begin(), line.end(), &summarizer);
  return summary;
}

}  // namespace harness::bench
