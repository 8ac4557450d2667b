// One connection to PostgreSQL through libpq, for the PostgreSQL engine (store/pg_store.h) and
// its change feed: statements with text parameters, prepared once per connection, results
// read as text, and every failure turned into a harness::Error that says which server failed
// and why (the password of the URL is never shown).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"

struct pg_conn;
struct pg_result;

namespace harness {

// A statement's parameter: text, or SQL NULL.
class PgParam {
 public:
  PgParam(std::nullopt_t) {}
  PgParam(std::string text) : text_(std::move(text)) {}
  PgParam(std::string_view text) : text_(std::string(text)) {}
  PgParam(const char* text) : text_(std::string(text)) {}
  PgParam(std::int64_t n) : text_(std::to_string(n)) {}
  PgParam(int n) : text_(std::to_string(n)) {}
  PgParam(bool b) : text_(b ? "t" : "f") {}
  template <typename T>
  PgParam(const std::optional<T>& value) {
    if (value) text_ = PgParam(*value).text_;
  }

  const char* c_str() const { return text_ ? text_->c_str() : nullptr; }

 private:
  std::optional<std::string> text_;
};

// A statement's rows, as text.
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  int rows() const;
  // The command's tag: "COMMIT", or "ROLLBACK" for a COMMIT of a failed transaction.
  std::string_view command_tag() const;
  // Rows a command changed (UPDATE, DELETE, INSERT).
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  std::optional<std::int64_t> optional_int64(int row, int column) const;

 private:
  pg_result* result_;
};

// Why a statement failed, beyond Error's kind: the caller decides what to do about it.
class PgError : public Error {
 public:
  enum class Reason {
    kOther,
    kConnection,  // the server is unreachable or went away: the connection must be made again
    kLockBusy,    // FOR UPDATE NOWAIT found the row locked by another transaction
    kDeadlock,    // the server broke a lock cycle by failing this statement
  };
  PgError(Error error, Reason reason, std::string sqlstate);
  Reason reason() const { return reason_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  Reason reason_;
  std::string sqlstate_;
};

class PgConnection {
 public:
  // Connects to `url` (a postgresql:// URL or a libpq connection string). Throws PgError
  // (kConnection) naming the server when it cannot.
  explicit PgConnection(std::string url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql`, one or more statements without parameters. Throws PgError.
  PgResult exec(std::string_view sql);
  // Runs the one statement `sql` with `params` ($1, $2, ...), prepared on first use on this
  // connection under a name of its own. Throws PgError.
  PgResult run(const std::string& sql, std::initializer_list<PgParam> params = {});
  PgResult run(const std::string& sql, const std::vector<PgParam>& params);
  // The same without preparing `sql`: for statements whose text changes (a bulk insert of
  // however many rows). Throws PgError.
  PgResult run_once(const std::string& sql, const std::vector<PgParam>& params);

  // Whether the connection is still up as far as libpq knows.
  bool healthy() const;
  // Makes the connection again (prepared statements are forgotten). Throws PgError.
  void reconnect();

  // For the change feed: the socket to wait on, and the notifications that arrived
  // (consuming input first). Throws PgError when the connection is lost.
  int socket() const;
  std::vector<std::string> take_notifications();

  // The URL without its password, for messages.
  const std::string& where() const { return where_; }

 private:
  [[noreturn]] void fail(pg_result* result, std::string_view what);
  void connect();

  std::string url_;
  std::string where_;
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL → statement name
};

// `url` with any password replaced by "***".
std::string redact_password(const std::string& url);

}  // namespace harness
