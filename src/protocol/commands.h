// The command table: every command of the wire protocol, declared once (docs/architecture.md,
// "Adding a command"). An entry names the command on the wire, its request and response
// structs (requests.h, responses.h) and a help line; the daemon's handler is the Service's
// overload for the request type (service.cc checks at compile time that each entry has one),
// the request parser, the reply encoder, the clients and the docs test are all driven by this
// list. The `Request` and `Answer` variants below are generated from it, so a name and a type
// can never get out of step.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "protocol/requests.h"
#include "protocol/responses.h"

namespace harness {

template <typename RequestT, typename ResponseT>
struct CommandEntry {
  using Request = RequestT;
  using Response = ResponseT;
};

struct PingCommand : CommandEntry<PingRequest, PingResponse> {
  static constexpr std::string_view kName = "ping";
  static constexpr std::string_view kHelp = "Check that the daemon answers; says which worktree";
};
struct GetStateCommand : CommandEntry<GetStateRequest, GetStateResponse> {
  static constexpr std::string_view kName = "get_state";
  static constexpr std::string_view kHelp = "The whole workflow, or null";
};
struct StatusCommand : CommandEntry<StatusRequest, StatusResponse> {
  static constexpr std::string_view kName = "status";
  static constexpr std::string_view kHelp = "Task counts by status, commit and command counters";
};
struct UpdateStateCommand : CommandEntry<UpdateStateRequest, UpdateStateResponse> {
  static constexpr std::string_view kName = "update_state";
  static constexpr std::string_view kHelp = "Replace the workflow's tasks unconditionally";
};
struct PlanImportCommand : CommandEntry<PlanImportRequest, PlanImportResponse> {
  static constexpr std::string_view kName = "plan_import";
  static constexpr std::string_view kHelp =
      "Replace a finished workflow with tasks given inline or in a file the daemon reads";
};
struct ClaimCommand : CommandEntry<ClaimRequest, ClaimResponse> {
  static constexpr std::string_view kName = "task_claim";
  static constexpr std::string_view kHelp = "Claim the next ready task for a worker, under a lease";
};
struct CompleteCommand : CommandEntry<CompleteRequest, CompleteResponse> {
  static constexpr std::string_view kName = "task_complete";
  static constexpr std::string_view kHelp =
      "Complete a task the worker holds (after its verification commands); optionally claim the "
      "next";
};
struct HeartbeatCommand : CommandEntry<HeartbeatRequest, HeartbeatResponse> {
  static constexpr std::string_view kName = "task_heartbeat";
  static constexpr std::string_view kHelp = "Renew the lease of a task the worker holds";
};
struct ReleaseCommand : CommandEntry<ReleaseRequest, ReleaseResponse> {
  static constexpr std::string_view kName = "task_release";
  static constexpr std::string_view kHelp = "Give a held task back: pending, no attempt counted";
};
struct FailCommand : CommandEntry<FailRequest, FailResponse> {
  static constexpr std::string_view kName = "task_fail";
  static constexpr std::string_view kHelp =
      "Fail an attempt: retried after a backoff until max_attempts, then failed";
};
struct RetryCommand : CommandEntry<RetryRequest, RetryResponse> {
  static constexpr std::string_view kName = "task_retry";
  static constexpr std::string_view kHelp =
      "Make a failed task (and what it blocks) claimable again, attempts reset";
};
struct ShowCommand : CommandEntry<ShowRequest, ShowResponse> {
  static constexpr std::string_view kName = "task_show";
  static constexpr std::string_view kHelp =
      "One task, with attempts, last error, lease, blocked_by";
};
struct ListCommand : CommandEntry<ListRequest, ListResponse> {
  static constexpr std::string_view kName = "task_list";
  static constexpr std::string_view kHelp = "The tasks in plan order, optionally of one status";
};
struct AddCommand : CommandEntry<AddRequest, AddResponse> {
  static constexpr std::string_view kName = "task_add";
  static constexpr std::string_view kHelp = "Add a task to the live plan";
};
struct PlanResetCommand : CommandEntry<PlanResetRequest, PlanResetResponse> {
  static constexpr std::string_view kName = "plan_reset";
  static constexpr std::string_view kHelp = "Remove the workflow";
};
struct ExecCommand : CommandEntry<ExecRequest, ExecResponse> {
  static constexpr std::string_view kName = "exec";
  static constexpr std::string_view kHelp = "Run a command with a timeout in its own process group";
};
struct GitCommand : CommandEntry<GitRequest, GitResponse> {
  static constexpr std::string_view kName = "git";
  static constexpr std::string_view kHelp = "Run git, serialised with every other git call";
};
struct ShutdownCommand : CommandEntry<ShutdownRequest, ShutdownResponse> {
  static constexpr std::string_view kName = "shutdown";
  static constexpr std::string_view kHelp = "Stop the daemon once this reply is written";
};

// An error reply: {"status":"error","message":...}.
struct ErrorAnswer {
  std::string message;
  bool operator==(const ErrorAnswer&) const = default;
};

template <typename R, typename... Entries>
struct FindEntry;  // no entry has request type R: a compile error where it is asked for
template <typename R, typename First, typename... Rest>
struct FindEntry<R, First, Rest...>
    : std::conditional_t<std::is_same_v<R, typename First::Request>, std::type_identity<First>,
                         FindEntry<R, Rest...>> {};

template <typename... Commands>
struct CommandList {
  using Request = std::variant<typename Commands::Request...>;
  // What a request gets back: its response, or an error.
  using Answer = std::variant<ErrorAnswer, typename Commands::Response...>;
  static constexpr std::array<std::string_view, sizeof...(Commands)> kNames{Commands::kName...};

  template <typename R>
  using For = FindEntry<R, Commands...>;

  // Calls f(Command{}) for each entry, in order, until one returns true; returns whether one did.
  template <typename F>
  static bool find(F&& f) {
    return (f(Commands{}) || ...);
  }
};

using Commands =
    CommandList<PingCommand, GetStateCommand, StatusCommand, UpdateStateCommand, PlanImportCommand,
                PlanResetCommand, ClaimCommand, CompleteCommand, HeartbeatCommand, ReleaseCommand,
                FailCommand, RetryCommand, ShowCommand, ListCommand, AddCommand, ExecCommand,
                GitCommand, ShutdownCommand>;
using Request = Commands::Request;
using Answer = Commands::Answer;

constexpr bool names_are_unique() {
  for (std::size_t i = 0; i < Commands::kNames.size(); ++i)
    for (std::size_t j = i + 1; j < Commands::kNames.size(); ++j)
      if (Commands::kNames[i] == Commands::kNames[j]) return false;
  return true;
}
static_assert(names_are_unique(), "two commands share a wire name");

// The entry whose request type is R: CommandFor<ClaimRequest> is ClaimCommand.
template <typename R>
using CommandFor = typename Commands::For<R>::type;

// The wire name of a request's command.
template <typename R>
constexpr std::string_view command_name_of = CommandFor<R>::kName;

}  // namespace harness
