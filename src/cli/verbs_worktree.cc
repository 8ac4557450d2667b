#include "cli/verbs_worktree.h"

#include <array>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/paths.h"
#include "cli/worktree_binding.h"
#include "cli/worktrees.h"
#include "core/clock.h"
#include "core/error.h"
#include "exec/git_guard.h"
#include "exec/repository_lock.h"
#include "exec/subprocess.h"
#include "server/daemon_lock.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

// A running task and the worktree it was claimed from.
struct Claim {
  std::string task_id;
  std::string worker_id;
  fs::path worktree;
  bool live = false;  // its lease has not run out
};

std::vector<Claim> claims_from_worktrees(CliContext& ctx) {
  ListRequest request;
  request.status = TaskStatus::kRunning;
  const auto answer = call(ctx.client(), request);
  if (const auto* error = std::get_if<ErrorAnswer>(&answer)) throw Error::io(error->message);
  const Micros now = SystemClock::instance().now();
  std::vector<Claim> claims;
  for (const ShowResponse& shown : std::get<ListResponse>(answer).tasks) {
    const Task& t = shown.task;
    if (!t.worktree) continue;
    claims.push_back(Claim{t.id, t.claimed_by.value_or("?"), fs::path(*t.worktree),
                           t.lease_expires_at && *t.lease_expires_at > now});
  }
  return claims;
}

std::vector<Claim> claims_from(const std::vector<Claim>& claims, const fs::path& worktree) {
  std::vector<Claim> found;
  for (const Claim& c : claims)
    if (same_path(c.worktree, worktree)) found.push_back(c);
  return found;
}

// Runs `git ARGS` through the daemon from `cwd`: under the repository's git lock, in the
// runtime commands run in, and logged in the trajectory. Returns git's exit status; git's output
// is passed on.
int git_through_daemon(CliContext& ctx, const fs::path& cwd, std::vector<std::string> args) {
  GitRequest request;
  request.args = std::move(args);
  request.cwd = cwd.string();
  for (auto& [name, value] : process_environment())
    if (!is_refused_git_variable(name)) request.env[name] = value;
  request.env_complete = true;
  request.base64_output = true;
  ClientOptions options = ctx.client();
  options.read_timeout.reset();
  const auto answer = call(options, request);
  if (const auto* error = std::get_if<ErrorAnswer>(&answer)) throw Error::io(error->message);
  const GitResponse& git = std::get<GitResponse>(answer);
  std::cout << git.stdout_bytes << std::flush;
  std::cerr << git.stderr_bytes << std::flush;
  return git.returncode;
}

// A path for git, relative to `from` when it can be: git runs where the daemon runs commands,
// which in a container sees the same layout under another root.
std::string path_from(const fs::path& path, const fs::path& from) {
  const fs::path relative = path.lexically_relative(from);
  return relative.empty() ? path.string() : relative.string();
}

struct AddArgs {
  std::string name;
  std::string from;
};

int run_add(CliContext& ctx, const AddArgs& a) {
  check_worktree_name(a.name);
  const fs::path here = ctx.checkout();
  const fs::path plan = ctx.worktree();
  const fs::path target = worktree_path_for(plan, a.name);
  std::error_code ignored;
  if (fs::exists(target, ignored))
    throw Error::conflict(target.string() + " already exists; choose another name, or remove it " +
                          "(`harness worktree remove " + a.name + "`)");
  std::vector<std::string> args{"worktree", "add", "-b", a.name, path_from(target, here)};
  if (!a.from.empty()) args.push_back(a.from);
  if (const int status = git_through_daemon(ctx, here, std::move(args)); status != 0) {
    std::cerr << "harness: git could not add the worktree (exit status " << status << ")\n";
    return 1;
  }
  write_binding(target, plan);
  std::cout << "Created " << target.string() << " on new branch " << a.name << " (from "
            << (a.from.empty() ? "the HEAD of " + here.string() : a.from)
            << "), bound to the plan and daemon of " << plan.string() << "\n";
  return 0;
}

std::string binding_of(const fs::path& worktree, const fs::path& plan) {
  if (same_path(worktree, plan)) return "plan";
  try {
    const std::optional<fs::path> target = bound_to(worktree);
    if (!target) return "own plan";
    return same_path(*target, plan) ? "bound" : "bound to " + target->string();
  } catch (const Error&) {
    return "unreadable binding";
  }
}

std::string holders_text(const std::vector<Claim>& claims) {
  std::string text;
  for (const Claim& c : claims)
    text += (text.empty() ? "" : ", ") + c.task_id + " (" + c.worker_id +
            (c.live ? "" : ", expired") + ")";
  return text.empty() ? "-" : text;
}

int run_list(CliContext& ctx, bool as_json) {
  const fs::path plan = ctx.worktree();
  const std::vector<WorktreeEntry> entries = list_worktrees(ctx.checkout());
  const std::vector<Claim> claims = claims_from_worktrees(ctx);
  Json list = Json::array();
  std::vector<std::array<std::string, 5>> rows;
  for (const WorktreeEntry& e : entries) {
    std::string state = "bare";
    if (e.prunable)
      state = "missing";
    else if (!e.bare)
      state = worktree_changes(e.path).empty() ? "clean" : "dirty";
    const std::vector<Claim> held = claims_from(claims, e.path);
    const std::string binding = binding_of(e.path, plan);
    Json tasks = Json::array();
    for (const Claim& c : held)
      tasks.push_back({{"task_id", c.task_id}, {"worker_id", c.worker_id}, {"live", c.live}});
    list.push_back({{"path", e.path.string()},
                    {"branch", e.branch.empty() ? Json(nullptr) : Json(e.branch)},
                    {"head", e.head},
                    {"state", state},
                    {"dirty", state == "dirty"},
                    {"binding", binding},
                    {"bound", binding == "plan" || binding == "bound"},
                    {"tasks", std::move(tasks)}});
    rows.push_back({e.path.string(), e.branch.empty() ? "(detached)" : e.branch, state, binding,
                    holders_text(held)});
  }
  if (as_json) {
    std::cout << Json{{"worktrees", std::move(list)}}.dump() << "\n";
    return 0;
  }
  std::array<std::size_t, 5> width{};
  const std::array<std::string, 5> header{"WORKTREE", "BRANCH", "STATE", "PLAN", "HELD BY"};
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (std::size_t i = 0; i < header.size(); ++i) width[i] = std::max(width[i], header[i].size());
  const auto print = [&](const std::array<std::string, 5>& row) {
    for (std::size_t i = 0; i < row.size(); ++i)
      std::cout << std::left << std::setw(static_cast<int>(i + 1 < row.size() ? width[i] + 2 : 0))
                << row[i];
    std::cout << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
  return 0;
}

// The worktree `name` names: by its directory (beside the plan's, or a path) or its branch.
WorktreeEntry find_worktree(const std::vector<WorktreeEntry>& entries, const fs::path& plan,
                            const std::string& name) {
  const fs::path beside = worktree_path_for(plan, name);
  for (const WorktreeEntry& e : entries)
    if (same_path(e.path, beside) || same_path(e.path, fs::absolute(name))) return e;
  for (const WorktreeEntry& e : entries)
    if (e.branch == name) return e;
  throw Error::not_found("no worktree '" + name + "' (looked for " + beside.string() +
                         " and a worktree on branch " + name + "); `harness worktree list` " +
                         "shows them");
}

struct RemoveArgs {
  std::string name;
  bool force = false;
};

int run_remove(CliContext& ctx, const RemoveArgs& a) {
  const fs::path plan = ctx.worktree();
  const std::vector<WorktreeEntry> entries = list_worktrees(plan);
  const WorktreeEntry target = find_worktree(entries, plan, a.name);
  if (same_path(target.path, plan) || (!entries.empty() && same_path(target.path, entries[0].path)))
    throw Error::conflict(target.path.string() + " is " +
                          (same_path(target.path, plan) ? "the plan's own worktree"
                                                        : "the repository's main worktree") +
                          "; harness removes only the worktrees made beside it");
  const std::string changes = target.prunable ? "" : worktree_changes(target.path);
  std::vector<Claim> live;
  for (const Claim& c : claims_from(claims_from_worktrees(ctx), target.path))
    if (c.live) live.push_back(c);
  if (!a.force && (!changes.empty() || !live.empty())) {
    std::cerr << "harness: not removing " << target.path.string() << ":\n";
    if (!changes.empty())
      std::cerr << "  it is dirty: it has uncommitted changes (commit or discard them):\n"
                << changes;
    for (const Claim& c : live)
      std::cerr << "  a live lease is held from it: task " << c.task_id << " is held from it by "
                << c.worker_id << " (complete, release or fail it first)\n";
    std::cerr << "  --force removes it anyway (logged)\n";
    return 1;
  }
  std::vector<std::string> args{"worktree", "remove"};
  if (a.force) args.push_back("--force");  // also puts the override in the trajectory
  args.push_back(path_from(target.path, plan));
  if (const int status = git_through_daemon(ctx, plan, std::move(args)); status != 0) {
    std::cerr << "harness: git could not remove the worktree (exit status " << status << ")\n";
    return 1;
  }
  std::cout << "Removed " << target.path.string();
  if (!target.branch.empty()) std::cout << " (branch " << target.branch << " is kept)";
  std::cout << "\n";
  for (const Claim& c : live)
    std::cout << "Task " << c.task_id << " is still held by " << c.worker_id
              << ", claimed from the removed worktree\n";
  return 0;
}

struct BindArgs {
  std::string path;
  std::string to;
};

// The repository's main worktree: the first `git worktree list` names.
fs::path main_worktree(const fs::path& dir) {
  const std::vector<WorktreeEntry> entries = list_worktrees(dir);
  if (entries.empty() || entries[0].bare)
    throw Error::not_found("the repository of " + dir.string() +
                           " has no main worktree to bind to; name one with --to");
  return entries[0].path;
}

int run_bind(CliContext& ctx, const BindArgs& a) {
  const fs::path checkout = a.path.empty() ? ctx.checkout() : resolve_checkout(fs::path(a.path));
  const fs::path target =
      a.to.empty() ? main_worktree(checkout) : plan_worktree_of(resolve_checkout(fs::path(a.to)));
  std::error_code ignored;
  if (!fs::is_regular_file(checkout / ".git", ignored))
    throw Error::invalid(checkout.string() + " is not a linked worktree (made by `git worktree " +
                         "add`); only those can be bound to another worktree's plan");
  if (same_path(checkout, target))
    throw Error::invalid(checkout.string() + " cannot be bound to itself");
  if (!same_path(repository_lock_file(checkout).parent_path(),
                 repository_lock_file(target).parent_path()))
    throw Error::invalid(target.string() + " is not a worktree of the repository of " +
                         checkout.string());
  if (const auto holder = read_daemon_info(checkout); holder && holder_alive(*holder))
    throw Error::conflict("a daemon (pid " + std::to_string(holder->pid) + ") serves the own " +
                          "plan of " + checkout.string() + "; stop it first (`harness --worktree " +
                          checkout.string() + " shutdown`)");
  write_binding(checkout, target);
  std::cout << "Bound " << checkout.string() << " to the plan and daemon of " << target.string()
            << "\n";
  return 0;
}

int run_unbind(CliContext& ctx, const std::string& path) {
  const fs::path checkout = path.empty() ? ctx.checkout() : resolve_checkout(fs::path(path));
  if (remove_binding(checkout))
    std::cout << "Unbound " << checkout.string() << ": it has its own plan and daemon again\n";
  else
    std::cout << checkout.string() << " was not bound\n";
  return 0;
}

}  // namespace

void print_claims_from_other_worktrees(CliContext& ctx, std::ostream& out) {
  for (const Claim& c : claims_from_worktrees(ctx))
    if (!same_path(c.worktree, ctx.worktree()))
      out << "  " << c.task_id << " held by " << c.worker_id << " in " << c.worktree.string()
          << "\n";
}

void register_worktree_verbs(CLI::App& app, CliContext& ctx, Action& action) {
  CLI::App* group = app.add_subcommand(
      "worktree", "A git worktree per agent, on the plan and daemon of this one");
  group->require_subcommand(1);

  auto add = std::make_shared<AddArgs>();
  CLI::App* add_cmd = add_verb(*group, "add",
                               "Create ../REPO--NAME on a new branch NAME, bound to this plan "
                               "and daemon (git runs through the daemon)",
                               action, [&ctx, add] { return run_add(ctx, *add); });
  add_cmd->add_option("name", add->name, "The worktree's name: its branch, and REPO--NAME")
      ->required();
  add_cmd->add_option("--from", add->from, "Start the branch at REF (default: HEAD here)")
      ->type_name("REF");

  auto json = std::make_shared<bool>(false);
  CLI::App* list = add_verb(*group, "list",
                            "Each worktree of the repository: branch, clean or dirty, which plan "
                            "it uses, and the tasks held from it",
                            action, [&ctx, json] { return run_list(ctx, *json); });
  list->add_flag("--json", *json, "Print {\"worktrees\": [...]} as JSON");

  auto remove = std::make_shared<RemoveArgs>();
  CLI::App* rm = add_verb(*group, "remove",
                          "Remove a worktree made by `worktree add` (its branch stays); refuses "
                          "while it is dirty or a live lease is held from it",
                          action, [&ctx, remove] { return run_remove(ctx, *remove); });
  rm->add_option("name", remove->name, "Its NAME (or path, or branch)")->required();
  rm->add_flag("--force", remove->force,
               "Remove it even if dirty or held (logged in the trajectory)");

  auto bind = std::make_shared<BindArgs>();
  CLI::App* b = add_verb(*group, "bind",
                         "Bind a worktree made by plain `git worktree add` to another worktree's "
                         "plan and daemon",
                         action, [&ctx, bind] { return run_bind(ctx, *bind); });
  b->add_option("path", bind->path, "The worktree to bind (default: this one)");
  b->add_option("--to", bind->to, "Whose plan (default: the repository's main worktree)")
      ->type_name("WORKTREE");

  auto unbind = std::make_shared<std::string>();
  CLI::App* u = add_verb(*group, "unbind", "Give a bound worktree its own plan and daemon again",
                         action, [&ctx, unbind] { return run_unbind(ctx, *unbind); });
  u->add_option("path", *unbind, "The worktree to unbind (default: this one)");
}

}  // namespace harness
