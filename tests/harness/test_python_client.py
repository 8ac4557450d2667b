"""harness.client's HarnessClient against a real daemon (issue 16: every verb from Python;
issue 15: task packets and the goal in Python's Task and WorkflowState): each helper's reply
types, the lease tokens it keeps for its worker, and the error it raises on an error reply."""

import re
import threading
from pathlib import Path

import pytest

from harness import HarnessError
from harness.client import Claim, CommandError, HarnessClient
from harness.state import Task, TaskStatus, WorkflowState

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def daemon(git_worktree, socket_path, embedded_daemon):
    """A daemon serving git_worktree; `client(worker)` talks to it as that worker."""
    embedded_daemon(socket_path, git_worktree)

    def client(worker="w1"):
        return HarnessClient(socket_path, worker_id=worker)

    return client


def plan(client, *tasks, goal=None):
    client.plan_import(WorkflowState(tasks={t.id: t for t in tasks}, goal=goal), force=True)


def test_claim_returns_the_task_and_its_lease_and_complete_sends_the_kept_lease(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a", description="first"), Task(id="b", dependencies=["a"]))
    claim = w1.claim()
    assert isinstance(claim, Claim)
    assert (claim.task.id, claim.task.status, claim.task.claimed_by) == ("a", TaskStatus.RUNNING, "w1")
    assert claim.lease and claim.attempt == 1 and claim.lease_expires_at is not None
    assert (claim.is_retry, claim.is_reclaim, claim.plan_complete) == (False, False, False)
    assert w1.lease_of("a") == claim.lease
    done = w1.complete("a")
    assert (done.task_id, done.next) == ("a", None)
    assert w1.lease_of("a") is None
    assert w1.get_state().tasks["a"].status is TaskStatus.COMPLETED


def test_a_superseded_lease_is_refused_even_from_the_same_worker(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a", retry_backoff_seconds=0))
    first = w1.claim()
    failed = w1.fail("a", "flaky")
    assert (failed.task_id, failed.attempt, failed.status) == ("a", 1, TaskStatus.PENDING)
    # A restarted agent under the old name: a new client, the same worker, the task claimed anew.
    second = daemon("w1").claim()
    assert second.task.id == "a" and second.attempt == 2 and second.lease != first.lease
    for call in (lambda: w1.heartbeat("a", lease=first.lease),
                 lambda: w1.complete("a", lease=first.lease),
                 lambda: w1.release("a", lease=first.lease),
                 lambda: w1.fail("a", "late", lease=first.lease)):
        with pytest.raises(CommandError, match="lease superseded"):
            call()
    assert w1.show("a").task.status is TaskStatus.RUNNING


def test_heartbeat_renews_the_lease_and_release_gives_the_task_back_without_an_attempt(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"))
    claim = w1.claim()
    expires = w1.heartbeat("a")
    assert expires >= claim.lease_expires_at
    assert w1.show("a").task.lease_expires_at == expires
    w1.release("a", "not mine after all")
    shown = w1.show("a").task
    assert (shown.status, shown.claimed_by, shown.attempts) == (TaskStatus.PENDING, None, 0)
    assert w1.lease_of("a") is None


def test_a_failed_attempt_waits_out_its_backoff(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"))
    w1.claim()
    failed = w1.fail("a", "boom")
    assert (failed.attempt, failed.status) == (1, TaskStatus.PENDING) and failed.retry_at is not None
    backing_off = w1.show("a").task
    assert (backing_off.attempts, backing_off.last_error, backing_off.retry_at) == (1, "boom", failed.retry_at)
    nothing = w1.claim()
    assert (nothing.task, nothing.plan_complete) == (None, False)  # it will come back


def test_the_last_attempt_fails_the_task_blocks_dependents_and_retry_frees_them(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a", max_attempts=2, retry_backoff_seconds=0), Task(id="b", dependencies=["a"]))
    w1.claim()
    assert w1.fail("a", "boom 1").status is TaskStatus.PENDING
    assert w1.claim().attempt == 2
    last = w1.fail("a", "boom 2")
    assert (last.attempt, last.status, last.retry_at) == (2, TaskStatus.FAILED, None)
    assert w1.show("a").task.last_error == "boom 2"
    assert w1.show("b").blocked_by == ["a"]
    assert [v.task.id for v in w1.list_tasks(status="failed")] == ["a"]
    assert [v.blocked_by for v in w1.list_tasks()] == [[], ["a"]]
    nothing = w1.claim()
    assert (nothing.task, nothing.plan_complete) == (None, True)

    w1.retry("a")
    again = w1.show("a").task
    assert (again.status, again.attempts) == (TaskStatus.PENDING, 0)
    assert w1.show("b").blocked_by == []
    assert w1.claim().task.id == "a"


def test_complete_next_claims_the_following_task_and_keeps_its_lease(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"), Task(id="b", dependencies=["a"]))
    w1.claim()
    done = w1.complete("a", next=True)
    assert done.task_id == "a" and done.next.task.id == "b"
    assert w1.lease_of("b") == done.next.lease
    last = w1.complete("b", next=True)
    assert (last.next.task, last.next.plan_complete) == (None, True)


def test_an_operator_forces_completion_of_a_task_another_worker_holds(daemon):
    w1, operator = daemon("w1"), daemon("operator")
    plan(w1, Task(id="a"))
    w1.claim()
    with pytest.raises(CommandError, match="not claimed by operator"):
        operator.complete("a")
    operator.complete("a", force=True)
    assert operator.show("a").task.status is TaskStatus.COMPLETED


def test_verification_commands_gate_completion_unless_skipped(daemon, tmp_path):
    w1 = daemon("w1")
    (tmp_path / "marker").write_text("")
    plan(w1, Task(id="ok", verification_commands=[["test", "-f", "marker"]]),
         Task(id="bad", verification_commands=["sh -c 'echo broken; exit 3'"]))
    w1.claim()
    w1.complete("ok", cwd=tmp_path)  # the check runs where the worker works
    w1.claim()
    with pytest.raises(CommandError) as refused:
        w1.complete("bad")
    assert refused.value.command == "task_complete" and "broken" in refused.value.message
    assert w1.show("bad").task.status is TaskStatus.RUNNING and w1.lease_of("bad")
    w1.complete("bad", verify=False)
    assert w1.show("bad").task.status is TaskStatus.COMPLETED


def test_a_waiting_claim_gets_the_task_another_worker_releases_by_completing(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"), Task(id="b", dependencies=["a"]))
    w1.claim()
    got = []
    waiter = threading.Thread(target=lambda: got.append(daemon("w2").claim(wait=60)))
    waiter.start()
    w1.complete("a")
    waiter.join(60)
    assert not waiter.is_alive() and got[0].task.id == "b" and got[0].task.claimed_by == "w2"


def test_a_waiting_claim_returns_at_once_when_the_plan_is_complete(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a", status=TaskStatus.COMPLETED))
    claim = w1.claim(wait=3600)
    assert (claim.task, claim.plan_complete) == (None, True)


def test_claims_follow_role_and_priority(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="review", role="reviewer", priority=9), Task(id="low"),
         Task(id="high", priority=5))
    assert daemon("coder").claim(role="coder").task.id == "high"
    assert daemon("reviewer").claim(role="reviewer").task.id == "review"
    assert daemon("anyone").claim(role="coder").task.id == "low"


def test_add_validates_against_the_live_plan_and_plan_reset_removes_it(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"))
    assert w1.add(Task(id="b", description="later", dependencies=["a"], priority=2)) == "b"
    assert w1.add({"id": "c"}) == "c"
    added = w1.show("b").task
    assert (added.description, added.dependencies, added.priority) == ("later", ["a"], 2)
    with pytest.raises(CommandError, match="Missing dependency: ghost"):
        w1.add(Task(id="d", dependencies=["ghost"]))
    assert [v.task.id for v in w1.list_tasks()] == ["a", "b", "c"]
    w1.plan_reset()
    assert w1.get_state() is None and w1.status() is None


def test_task_packets_and_the_goal_reach_python_from_get_state_and_claim(daemon):
    w1 = daemon("w1")
    packet = dict(
        role="coder", model="opus", input_context="the spec", output_contract="a patch",
        constraints="no new deps", success_criteria="tests pass", files_in_scope=["src/a.cc"],
        files_out_of_scope=["docs/"], tools=["git"], artifacts_to_read=["plan.md"],
        artifacts_to_write=["out.md"], verification_commands=[["true"], "test -d ."],
        priority=3, max_attempts=5, retry_backoff_seconds=7)
    plan(w1, Task(id="a", **packet), Task(id="plain"), goal="ship it")
    state = w1.get_state()
    assert state.goal == "ship it"
    stored = state.tasks["a"]
    expected = dict(packet, verification_commands=[["true"], ["test", "-d", "."]])
    assert {name: getattr(stored, name) for name in expected} == expected
    # A plain task reads as it did before these fields existed.
    assert set(state.tasks["plain"].to_dict()) == {
        "id", "description", "status", "dependencies", "started_at", "completed_at",
        "claimed_by", "timeout_seconds"}
    claimed = w1.claim().task
    assert (claimed.id, claimed.model, claimed.files_in_scope) == ("a", "opus", ["src/a.cc"])
    assert claimed.lease_expires_at is not None
    assert Task.from_dict(claimed.to_dict()) == claimed


def test_exec_and_git_run_as_the_worker_and_renew_its_lease(daemon, git_worktree):
    w1 = daemon("w1")
    plan(w1, Task(id="a"))
    claimed = w1.claim()
    ran = w1.exec(["sh", "-c", "printf out; printf err >&2; exit 4"])
    assert (ran.returncode, ran.stdout, ran.stderr, ran.timed_out) == (4, "out", "err", False)
    # The renewals are submitted before the reply; a write after it is committed after them.
    w1.add(Task(id="after"))
    assert w1.show("a").task.lease_expires_at > claimed.lease_expires_at
    raw = w1.exec(["printf", "\\377"], binary=True)
    assert raw.stdout == b"\xff"
    log = w1.git(["log", "--format=%s"], cwd=git_worktree)
    assert (log.returncode, log.stdout) == (0, "initial\n")
    assert w1.ping()["worktree"] == str(git_worktree)


def test_an_error_reply_raises_a_harness_error_naming_the_command(daemon):
    w1 = daemon("w1")
    plan(w1, Task(id="a"))
    with pytest.raises(CommandError) as missing:
        w1.show("ghost")
    assert isinstance(missing.value, HarnessError)
    assert str(missing.value) == f"task_show: {missing.value.message}"
    assert missing.value.message == "Task ghost not found"
    with pytest.raises(ValueError):
        w1.plan_import()


def test_every_command_of_the_table_has_a_client_helper_and_a_row_in_the_protocol_doc():
    commands = re.findall(r'kName = "(\w+)"', (ROOT / "src/protocol/commands.h").read_text())
    assert "task_claim" in commands and "plan_reset" in commands
    helpers = {"task_claim": "claim", "task_complete": "complete", "task_heartbeat": "heartbeat",
               "task_release": "release", "task_fail": "fail", "task_retry": "retry",
               "task_show": "show", "task_list": "list_tasks", "task_add": "add"}
    doc = (ROOT / "docs/protocol.md").read_text()
    for command in commands:
        assert callable(getattr(HarnessClient, helpers.get(command, command), None)), command
        assert f"\n| `{command}` |" in doc, f"docs/protocol.md has no row for {command}"
