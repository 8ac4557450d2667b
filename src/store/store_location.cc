#include "store/store_location.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"
#include "core/posix.h"
#include "store/pg_connection.h"
#include "store/state_dir.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

fs::path record_path(const fs::path& worktree) { return state_dir(worktree) / "store.json"; }

std::optional<StoreLocation> recorded(const fs::path& worktree) {
  std::ifstream in(record_path(worktree));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const Json j = parse_json(text.str());
    StoreLocation location;
    if (j.at("engine").get<std::string>() != "postgresql") return location;
    location.engine = StoreLocation::Engine::kPostgres;
    location.url = j.at("url").get<std::string>();
    location.plan = j.at("plan").get<std::string>();
    return location;
  } catch (const std::exception& e) {
    throw Error::corruption(record_path(worktree).string() + " cannot be read (" + e.what() +
                            "); remove it, or start the daemon with --store");
  }
}

bool is_postgres_url(const std::string& store) {
  return store.starts_with("postgresql://") || store.starts_with("postgres://") ||
         store.find("dbname=") != std::string::npos || store.find("host=") == 0;
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string StoreLocation::describe() const {
  if (!is_postgres()) return "SQLite";
  return "PostgreSQL at " + redact_password(url) + ", plan " + plan;
}

std::string repository_identity(const fs::path& worktree) {
  const std::string command =
      "git -C " + quoted(worktree.string()) + " config --get remote.origin.url 2>/dev/null";
  std::string origin;
  if (FILE* out = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, out)) origin += buffer;
    ::pclose(out);
  }
  while (!origin.empty() && (origin.back() == '\n' || origin.back() == '\r')) origin.pop_back();
  if (!origin.empty()) return origin;
  return fs::absolute(worktree).lexically_normal().filename().string();
}

StoreLocation choose_store_location(const fs::path& worktree,
                                    const std::optional<std::string>& store,
                                    const std::optional<std::string>& plan) {
  const std::optional<StoreLocation> last = recorded(worktree);
  const std::optional<std::string> chosen = store ? store : env("HARNESS_STORE");
  StoreLocation location;
  if (!chosen) {
    if (!last) return location;
    location = *last;
  } else if (*chosen == "sqlite") {
    return location;
  } else if (!is_postgres_url(*chosen)) {
    throw Error::invalid("unknown store \"" + redact_password(*chosen) +
                         "\": give \"sqlite\" or a postgresql:// URL");
  } else {
    location.engine = StoreLocation::Engine::kPostgres;
    location.url = *chosen;
    if (last && last->url == location.url) location.plan = last->plan;
  }
  if (const std::optional<std::string> named = plan ? plan : env("HARNESS_PLAN"))
    location.plan = *named;
  if (location.plan.empty()) location.plan = repository_identity(worktree);
  return location;
}

void record_store_location(const fs::path& worktree, const StoreLocation& location) {
  Json j{{"engine", location.is_postgres() ? "postgresql" : "sqlite"}};
  if (location.is_postgres()) {
    j["url"] = location.url;
    j["plan"] = location.plan;
  }
  // Written aside and renamed into place: a reader never sees half a record.
  const fs::path path = record_path(worktree);
  const fs::path temp = path.string() + ".new";
  const std::string text = j.dump() + "\n";
  const UniqueFd fd(
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd || write_all(fd.get(), text) != text.size() || ::fsync(fd.get()) != 0 ||
      ::rename(temp.c_str(), path.c_str()) != 0)
    throw Error::from_errno("cannot record the store in " + path.string());
}

}  // namespace harness
