#include "protocol/flat_request.h"

#include <array>

namespace harness {

namespace {

enum class Kind { kString, kTrue, kFalse, kNull };

struct Member {
  std::string_view key;
  Kind kind = Kind::kNull;
  std::string_view text;  // a string's contents
};

// More members than any hot request has: a longer object goes to the full parser.
constexpr std::size_t kMaxMembers = 8;

struct FlatObject {
  std::array<Member, kMaxMembers> members;
  std::size_t size = 0;

  // The member `key`, or nullptr when it is absent or null (as the full parser's fields see it).
  const Member* find(std::string_view key) const {
    for (std::size_t i = 0; i < size; ++i)
      if (members[i].key == key) return members[i].kind == Kind::kNull ? nullptr : &members[i];
    return nullptr;
  }

  bool has_key(std::string_view key) const {
    for (std::size_t i = 0; i < size; ++i)
      if (members[i].key == key) return true;
    return false;
  }

  // The value of `key` when it is a non-empty string, the only kind of string field there is.
  std::optional<std::string> text(std::string_view key) const {
    const Member* m = find(key);
    if (!m || m->kind != Kind::kString || m->text.empty()) return std::nullopt;
    return std::string(m->text);
  }

  // Reads optional string field `key` into `out`; false when it is there but not a non-empty
  // string (the full parser's to explain).
  bool optional_text(std::string_view key, std::optional<std::string>& out) const {
    if (!find(key)) return true;
    out = text(key);
    return out.has_value();
  }

  // Reads optional flag `key` into `out` (left as it is when absent); false when it is not a
  // boolean.
  bool flag(std::string_view key, bool& out) const {
    const Member* m = find(key);
    if (!m) return true;
    if (m->kind != Kind::kTrue && m->kind != Kind::kFalse) return false;
    out = m->kind == Kind::kTrue;
    return true;
  }
};

// Reads one flat object in one pass; every method returns false at the first byte it does not
// take, leaving the line to the full parser.
class FlatReader {
 public:
  explicit FlatReader(std::string_view line)
      : next_(line.data()), end_(line.data() + line.size()) {}

  bool read(FlatObject& object) {
    skip_space();
    if (!take('{')) return false;
    skip_space();
    if (!take('}')) {
      do {
        if (object.size == kMaxMembers || !read_member(object)) return false;
      } while (take(','));
      if (!take('}')) return false;
    }
    skip_space();
    return next_ == end_;
  }

 private:
  bool read_member(FlatObject& object) {
    Member m;
    skip_space();
    if (!read_string(m.key) || object.has_key(m.key)) return false;  // a repeated key is an error
    skip_space();
    if (!take(':')) return false;
    skip_space();
    if (!read_value(m)) return false;
    skip_space();
    object.members[object.size++] = m;
    return true;
  }

  bool read_value(Member& m) {
    if (next_ != end_ && *next_ == '"') {
      m.kind = Kind::kString;
      return read_string(m.text);
    }
    for (const auto& [word, kind] : {std::pair{std::string_view("true"), Kind::kTrue},
                                     std::pair{std::string_view("false"), Kind::kFalse},
                                     std::pair{std::string_view("null"), Kind::kNull}}) {
      if (std::string_view(next_, end_ - next_).starts_with(word)) {
        next_ += word.size();
        m.kind = kind;
        return true;
      }
    }
    return false;  // a number, an array, an object, or not JSON
  }

  // A string of printable ASCII without escapes: what needs decoding is the full parser's.
  bool read_string(std::string_view& out) {
    if (!take('"')) return false;
    const char* start = next_;
    while (next_ != end_ && *next_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*next_);
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
      ++next_;
    }
    if (next_ == end_) return false;
    out = std::string_view(start, next_ - start);
    ++next_;
    return true;
  }

  bool take(char c) {
    if (next_ == end_ || *next_ != c) return false;
    ++next_;
    return true;
  }

  void skip_space() {
    while (next_ != end_ && (*next_ == ' ' || *next_ == '\t' || *next_ == '\n' || *next_ == '\r'))
      ++next_;
  }

  const char* next_;
  const char* end_;
};

std::optional<Request> complete_request(const FlatObject& object) {
  CompleteRequest r;
  auto task_id = object.text("task_id");
  auto worker_id = object.text("worker_id");
  if (!task_id || !worker_id) return std::nullopt;
  r.task_id = std::move(*task_id);
  r.worker_id = std::move(*worker_id);
  if (!object.optional_text("lease", r.lease) || !object.optional_text("commit", r.commit) ||
      !object.optional_text("cwd", r.cwd) || !object.optional_text("role", r.role) ||
      !object.optional_text("worktree", r.worktree) || !object.flag("force", r.force) ||
      !object.flag("next", r.next) || !object.flag("verify", r.verify))
    return std::nullopt;
  return r;
}

std::optional<Request> claim_request(const FlatObject& object) {
  ClaimRequest r;
  auto worker_id = object.text("worker_id");
  if (!worker_id || object.find("wait")) return std::nullopt;
  r.worker_id = std::move(*worker_id);
  if (!object.optional_text("role", r.role) || !object.optional_text("worktree", r.worktree))
    return std::nullopt;
  return r;
}

}  // namespace

std::optional<Request> parse_flat_request(std::string_view line) {
  FlatObject object;
  if (!FlatReader(line).read(object)) return std::nullopt;
  const Member* command = object.find("command");
  if (!command || command->kind != Kind::kString) return std::nullopt;
  const std::string_view name = command->text;
  if (name == "task_claim") return claim_request(object);
  if (name == "task_complete") return complete_request(object);
  if (name == "ping") return PingRequest{};
  if (name == "get_state") return GetStateRequest{};
  if (name == "status") return StatusRequest{};
  if (name == "shutdown") return ShutdownRequest{};
  return std::nullopt;
}

}  // namespace harness
