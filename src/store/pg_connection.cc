#include "store/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <regex>
#include <utility>

namespace harness {

namespace {

// SQLSTATE classes and codes (postgresql.org/docs/current/errcodes-appendix.html).
bool is_connection_state(std::string_view state) {
  return state.starts_with("08") ||  // connection exception
         state == "57P01" ||         // admin_shutdown
         state == "57P02" ||         // crash_shutdown
         state == "57P03";           // cannot_connect_now (starting up, shutting down)
}

PgError::Reason reason_of(std::string_view state, bool connection_lost) {
  if (connection_lost || is_connection_state(state)) return PgError::Reason::kConnection;
  if (state == "55P03") return PgError::Reason::kLockBusy;
  if (state == "40P01") return PgError::Reason::kDeadlock;
  return PgError::Reason::kOther;
}

Error::Kind kind_of(std::string_view state) {
  if (state == "23505") return Error::Kind::kConflict;                // unique_violation
  if (state.starts_with("22")) return Error::Kind::kInvalidArgument;  // data exception
  return Error::Kind::kIo;
}

std::string trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

std::string redact_password(const std::string& url) {
  static const std::regex in_url(R"(^(postgres(?:ql)?://[^:/@?]*:)[^@/?]*@)");
  static const std::regex in_query(R"(([?&]password=)[^&]*)");
  static const std::regex in_keywords(R"((^|\s)(password\s*=\s*)('[^']*'|\S+))");
  std::string out = std::regex_replace(url, in_url, "$1***@");
  out = std::regex_replace(out, in_query, "$1***");
  return std::regex_replace(out, in_keywords, "$1$2***");
}

PgError::PgError(Error error, Reason reason, std::string sqlstate)
    : Error(std::move(error)), reason_(reason), sqlstate_(std::move(sqlstate)) {}

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

int PgResult::rows() const { return PQntuples(result_); }

std::string_view PgResult::command_tag() const { return PQcmdStatus(result_); }

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_);
  return n && *n ? std::stoll(n) : 0;
}

bool PgResult::is_null(int row, int column) const { return PQgetisnull(result_, row, column); }

std::string_view PgResult::text(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t PgResult::int64(int row, int column) const {
  const std::string_view t = text(row, column);
  std::int64_t value = 0;
  if (std::from_chars(t.data(), t.data() + t.size(), value).ec != std::errc())
    throw Error::corruption("PostgreSQL returned \"" + std::string(t) + "\" for a number");
  return value;
}

std::optional<std::string> PgResult::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(text(row, column));
}

std::optional<std::int64_t> PgResult::optional_int64(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return int64(row, column);
}

PgConnection::PgConnection(std::string url) : url_(std::move(url)), where_(redact_password(url_)) {
  connect();
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

void PgConnection::connect() {
  if (conn_) PQfinish(conn_);
  prepared_.clear();
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) == CONNECTION_OK) {
    // Notices (a savepoint released twice, say) would go to stderr, the daemon's log.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    return;
  }
  const std::string message = trimmed(PQerrorMessage(conn_));
  // Freed here: a constructor that throws runs no destructor.
  PQfinish(conn_);
  conn_ = nullptr;
  throw PgError(Error::io("cannot connect to PostgreSQL at " + where_ + ": " + message),
                PgError::Reason::kConnection, "08001");
}

void PgConnection::reconnect() { connect(); }

bool PgConnection::healthy() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

void PgConnection::fail(pg_result* result, std::string_view what) {
  const char* state_field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field ? state_field : "";
  std::string message = trimmed(result ? PQresultErrorMessage(result) : nullptr);
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  if (result) PQclear(result);
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  const PgError::Reason reason = reason_of(state, lost);
  if (reason == PgError::Reason::kConnection)
    throw PgError(Error::io("PostgreSQL at " + where_ + " is unavailable: " + message), reason,
                  state);
  throw PgError(Error(kind_of(state),
                      "PostgreSQL error (" + std::string(what.substr(0, 60)) + "): " + message),
                reason, state);
}

namespace {

bool succeeded(pg_result* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

PgResult PgConnection::exec(std::string_view sql) {
  pg_result* result = PQexec(conn_, std::string(sql).c_str());
  if (!result || !succeeded(result)) fail(result, sql);
  return PgResult(result);
}

PgResult PgConnection::run(const std::string& sql, std::initializer_list<PgParam> params) {
  return run(sql, std::vector<PgParam>(params));
}

PgResult PgConnection::run(const std::string& sql, const std::vector<PgParam>& params) {
  auto [named, fresh] = prepared_.try_emplace(sql, "s" + std::to_string(prepared_.size()));
  if (fresh) {
    pg_result* made = PQprepare(conn_, named->second.c_str(), sql.c_str(), 0, nullptr);
    if (!made || !succeeded(made)) {
      prepared_.erase(named);
      fail(made, sql);
    }
    PQclear(made);
  }
  const std::string& name = named->second;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p.c_str());
  pg_result* result = PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                     values.data(), nullptr, nullptr, 0);
  if (!result || !succeeded(result)) fail(result, sql);
  return PgResult(result);
}

PgResult PgConnection::run_once(const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p.c_str());
  pg_result* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, 0);
  if (!result || !succeeded(result)) fail(result, sql);
  return PgResult(result);
}

int PgConnection::socket() const { return PQsocket(conn_); }

std::vector<std::string> PgConnection::take_notifications() {
  if (!PQconsumeInput(conn_))
    throw PgError(
        Error::io("PostgreSQL at " + where_ + " is unavailable: " + trimmed(PQerrorMessage(conn_))),
        PgError::Reason::kConnection, "");
  std::vector<std::string> payloads;
  while (PGnotify* n = PQnotifies(conn_)) {
    payloads.emplace_back(n->extra ? n->extra : "");
    PQfreemem(n);
  }
  return payloads;
}

}  // namespace harness
