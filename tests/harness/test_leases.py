"""Issue 16: leases that match real work, black-box through the CLI an agent types and the
socket a client speaks, against the real daemon binary with short leases: fencing against a
same-name restart, failures with backoff, a poison task ending failed with its dependents
blocked, waiting claims woken once per task, plan_complete, verification commands, complete
--next, and the operator verbs."""

import json
import os
import resource
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from harness.client import send_rpc


@pytest.fixture
def fleet(git_worktree, socket_path, binary_daemon, cli_env, harness_bin, wait_for):
    """A daemon (the real binary) for a git worktree; cli(worker, *args) runs the CLI as that
    worker and returns (status, parsed stdout or text); rpc(request) speaks the socket."""
    env = cli_env(git_worktree, socket_path)
    binary_daemon(env)

    def cli(worker, *args, check=None):
        result = subprocess.run([harness_bin, *args], capture_output=True, text=True, timeout=120,
                                env={**env, "HARNESS_WORKER_ID": worker}, cwd=git_worktree)
        try:
            out = json.loads(result.stdout)
        except ValueError:
            out = result.stdout
        if check is not None:
            assert result.returncode == check, (result.stdout, result.stderr)
        return result.returncode, out

    def rpc(request):
        return send_rpc(socket_path, request)

    def plan(tasks):
        assert rpc({"command": "update_state", "updates": {"tasks": tasks}})["status"] == "ok"

    def read_events(kind):
        path = git_worktree / ".git" / "harness" / "trajectory.jsonl"
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e for e in lines if e.get("event") == kind]

    def events(kind, count=None):
        """The trajectory's events of `kind`; with `count`, once that many are written (the
        trajectory is written beside the replies, not before them)."""
        if count is not None:
            wait_for(lambda: len(read_events(kind)) >= count)
        return read_events(kind)

    return {"cli": cli, "rpc": rpc, "plan": plan, "events": events, "worktree": git_worktree,
            "env": env, "wait_for": wait_for}


def _claimed_id(reply):
    task = reply["data"]["task"]
    return task and task["id"]


def test_a_worker_back_under_its_old_name_cannot_finish_a_reclaimed_task(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    fleet["plan"]({"a": {"description": "A", "timeout_seconds": 1}})
    _, first = cli("agent", "task", "claim", check=0)
    assert first["data"]["attempt"] == 1 and first["data"]["lease"]
    # The agent stalls; its lease runs out while another waits for work, which reclaims it.
    _, other = cli("rescuer", "task", "claim", "--wait", "10", check=0)
    assert _claimed_id(other) == "a" and other["data"]["is_reclaim"] is True
    assert other["data"]["attempt"] == 2
    # The agent comes back under its old name: every change it makes to "a" is refused.
    for verb in (["complete"], ["heartbeat"], ["release"], ["fail", "--reason", "x"]):
        status, reply = cli("agent", "task", *verb, "--id", "a")
        assert status == 1 and "lease superseded" in reply["message"], (verb, reply)
    # Over the socket too, with the old token and the same worker id as the new holder.
    stale = rpc({"command": "task_complete", "task_id": "a", "worker_id": "rescuer",
                 "lease": first["data"]["lease"]})
    assert stale["status"] == "error" and "lease superseded" in stale["message"]
    cli("rescuer", "task", "complete", "--id", "a", check=0)
    assert rpc({"command": "task_show", "task_id": "a"})["data"]["status"] == "completed"


def test_the_same_name_claiming_after_its_lease_ran_out_gets_a_new_lease(fleet):
    rpc = fleet["rpc"]
    fleet["plan"]({"a": {"timeout_seconds": 1}})
    old = rpc({"command": "task_claim", "worker_id": "w"})["data"]
    # Claiming again within the lease would renew it: let it run out first (the lease is time).
    expires = datetime.fromisoformat(old["lease_expires_at"])
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    again = rpc({"command": "task_claim", "worker_id": "w"})["data"]
    assert again["is_reclaim"] is True and again["lease"] != old["lease"]
    refused = rpc({"command": "task_complete", "task_id": "a", "worker_id": "w",
                   "lease": old["lease"]})
    assert "lease superseded" in refused["message"]
    assert rpc({"command": "task_complete", "task_id": "a", "worker_id": "w",
                "lease": again["lease"]})["status"] == "ok"


def test_failures_back_off_then_fail_and_block_dependents_until_a_retry(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    fleet["plan"]({
        "build": {"description": "Build", "max_attempts": 2, "retry_backoff_seconds": 1},
        "ship": {"description": "Ship", "dependencies": ["build"]},
        "docs": {"description": "Docs", "dependencies": ["ship"]},
    })
    cli("w1", "task", "claim", check=0)
    _, failed = cli("w1", "task", "fail", "--id", "build", "--reason", "tests red", check=0)
    assert failed["data"]["status"] == "pending" and failed["data"]["attempt"] == 1
    assert failed["data"]["retry_at"]
    # Backing off: nothing to claim now, but the plan is not complete.
    _, now = cli("w2", "task", "claim", check=0)
    assert now["data"]["task"] is None and now["data"]["plan_complete"] is False
    _, later = cli("w2", "task", "claim", "--wait", "10", check=0)
    assert _claimed_id(later) == "build" and later["data"]["attempt"] == 2
    _, final = cli("w2", "task", "fail", "--id", "build", "--reason", "still red", check=0)
    assert final["data"]["status"] == "failed" and "retry_at" not in final["data"]

    shown = rpc({"command": "task_show", "task_id": "build"})["data"]
    assert shown["status"] == "failed" and shown["attempts"] == 2
    assert shown["last_error"] == "still red"
    for blocked in ("ship", "docs"):
        assert rpc({"command": "task_show", "task_id": blocked})["data"]["blocked_by"] == ["build"]
    _, listed = cli("op", "task", "list", check=0)
    assert "blocked" in listed and "failed" in listed
    # Nothing can run without an operator: a claim says so at once, even when asked to wait.
    _, done = cli("w3", "task", "claim", "--wait", "30", check=0)
    assert done["data"]["task"] is None and done["data"]["plan_complete"] is True

    cli("op", "task", "retry", "--id", "build", check=0)
    _, retried = cli("w3", "task", "claim", check=0)
    assert _claimed_id(retried) == "build" and retried["data"]["attempt"] == 1
    cli("w3", "task", "complete", "--id", "build", check=0)
    _, ship = cli("w3", "task", "claim", check=0)
    assert _claimed_id(ship) == "ship"
    assert len(fleet["events"]("fail", 2)) == 2 and len(fleet["events"]("retry", 1)) == 1


def test_a_task_that_kills_every_agent_ends_failed_instead_of_cycling(fleet):
    rpc = fleet["rpc"]
    fleet["plan"]({
        "poison": {"timeout_seconds": 1, "max_attempts": 2},
        "after": {"dependencies": ["poison"]},
    })
    assert _claimed_id(rpc({"command": "task_claim", "worker_id": "victim-1"})) == "poison"
    second = rpc({"command": "task_claim", "worker_id": "victim-2", "wait": 10})["data"]
    assert second["task"]["id"] == "poison" and second["attempt"] == 2
    # The second holder dies too: the waiting claim sees the plan finish instead of a task.
    last = rpc({"command": "task_claim", "worker_id": "survivor", "wait": 10})["data"]
    assert last["task"] is None and last["plan_complete"] is True
    poison = rpc({"command": "task_show", "task_id": "poison"})["data"]
    assert poison["status"] == "failed" and poison["attempts"] == 2
    assert "expired" in poison["last_error"]
    assert rpc({"command": "task_show", "task_id": "after"})["data"]["blocked_by"] == ["poison"]
    assert [e["task_id"] for e in fleet["events"]("fail", 1)] == ["poison"]


def test_waiting_workers_are_woken_once_per_newly_ready_task(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    tasks = {"gate": {}}
    tasks.update({f"t{i}": {"dependencies": ["gate"]} for i in range(5)})
    fleet["plan"](tasks)
    cli("opener", "task", "claim", check=0)
    results = {}

    def wait(worker):
        results[worker] = rpc({"command": "task_claim", "worker_id": worker, "wait": 60})

    threads = [threading.Thread(target=wait, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    # Every waiter is parked before the gate opens (the status counts claims as mutations).
    fleet_wait_for_waiters(rpc, 8)
    cli("opener", "task", "complete", "--id", "gate", check=0)
    # Five tasks became ready: five waiters get one each; three keep waiting.
    fleet["wait_for"](lambda: len(results) == 5, timeout=60)
    fleet_wait_for_waiters(rpc, 3)
    got = [_claimed_id(r) for r in results.values()]
    assert sorted(got) == [f"t{i}" for i in range(5)]
    # The plan finishes: the rest are told so.
    for worker, reply in list(results.items()):
        rpc({"command": "task_complete", "task_id": reply["data"]["task"]["id"], "worker_id": worker})
    for t in threads:
        t.join(60)
    assert len(results) == 8
    left = [r["data"] for w, r in results.items() if r["data"]["task"] is None]
    assert len(left) == 3 and all(d["plan_complete"] for d in left)
    claims = [e["task_id"] for e in fleet["events"]("claim", 6)]
    assert sorted(claims) == sorted(["gate"] + [f"t{i}" for i in range(5)])  # no task twice


def fleet_wait_for_waiters(rpc, n):
    """Waits until the daemon holds exactly `n` waiting claims (status: `waiting_claims`)."""
    deadline = time.monotonic() + 60
    while rpc({"command": "status"})["data"]["waiting_claims"] != n:
        assert time.monotonic() < deadline, f"never {n} waiting claims"
        time.sleep(0.01)


def test_a_thousand_waiting_workers_hold_no_thread_each_and_each_gets_one_task(fleet, harness_bin):
    rpc = fleet["rpc"]
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    tasks = {"gate": {}}
    tasks.update({f"t{i}": {"dependencies": ["gate"]} for i in range(n)})
    fleet["plan"](tasks)
    rpc({"command": "task_claim", "worker_id": "opener"})
    sockets = []
    path = fleet["env"]["HARNESS_SOCKET"]
    for i in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(json.dumps({"command": "task_claim", "worker_id": f"w{i}", "wait": 120}).encode() + b"\n")
        sockets.append(s)
    fleet_wait_for_waiters(rpc, n)
    pid = rpc({"command": "ping"})["data"]["pid"]
    threads = int(next(line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith("Threads:")))
    assert threads < 64, threads  # a parked reply each, not a thread each
    rpc({"command": "task_complete", "task_id": "gate", "worker_id": "opener"})
    got = []
    for s in sockets:
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(65536)
            assert chunk, "the daemon closed a waiting claim's connection"
            reply += chunk
        got.append(json.loads(reply)["data"]["task"]["id"])
        s.close()
    assert sorted(got) == sorted(f"t{i}" for i in range(n))


def test_a_waiting_claim_whose_client_went_away_is_never_given_a_task(fleet):
    rpc = fleet["rpc"]
    fleet["plan"]({"gate": {}, "work": {"dependencies": ["gate"]}})
    rpc({"command": "task_claim", "worker_id": "opener"})
    ghost = socket.socket(socket.AF_UNIX)
    ghost.connect(fleet["env"]["HARNESS_SOCKET"])
    ghost.sendall(b'{"command": "task_claim", "worker_id": "ghost", "wait": 60}\n')
    fleet_wait_for_waiters(rpc, 1)
    ghost.close()
    fleet_wait_for_waiters(rpc, 0)  # dropped when its client hung up
    rpc({"command": "task_complete", "task_id": "gate", "worker_id": "opener"})
    assert _claimed_id(rpc({"command": "task_claim", "worker_id": "alive"})) == "work"


def test_a_claim_that_waits_returns_empty_when_its_wait_passes(fleet):
    fleet["plan"]({"a": {}, "b": {"dependencies": ["a"]}})
    fleet["cli"]("w1", "task", "claim", check=0)
    _, reply = fleet["cli"]("w2", "task", "claim", "--wait", "0.3", check=0)
    assert reply["data"]["task"] is None and reply["data"]["plan_complete"] is False


def test_a_lease_expiring_after_every_waiter_left_wakes_nobody_and_harms_nothing(fleet):
    rpc = fleet["rpc"]
    fleet["plan"]({"a": {"timeout_seconds": 1}, "b": {"dependencies": ["a"]}})
    held = rpc({"command": "task_claim", "worker_id": "w1"})["data"]
    # A waiter parks until a's lease ends, then gives up first.
    gone = rpc({"command": "task_claim", "worker_id": "w2", "wait": 0.2})["data"]
    assert gone["task"] is None and gone["plan_complete"] is False
    expires = datetime.fromisoformat(held["lease_expires_at"])
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.3)
    # The daemon's timer fired for the expiry with no waiter left: it is still serving.
    assert rpc({"command": "ping"})["status"] == "ok"
    assert _claimed_id(rpc({"command": "task_claim", "worker_id": "w3"})) == "a"


def test_verification_commands_gate_completion(fleet):
    cli, rpc, worktree = fleet["cli"], fleet["rpc"], fleet["worktree"]
    fleet["plan"]({"a": {
        "description": "Write done.txt",
        "verification_commands": ["test -f done.txt", ["sh", "-c", "echo checked; grep -q yes done.txt"]],
    }})
    cli("w", "task", "claim", check=0)
    status, reply = cli("w", "task", "complete", "--id", "a")
    assert status == 1
    assert "test -f done.txt" in reply["message"] and "exit status 1" in reply["message"]
    assert rpc({"command": "task_show", "task_id": "a"})["data"]["status"] == "running"
    (worktree / "done.txt").write_text("no\n")
    status, reply = cli("w", "task", "complete", "--id", "a")
    assert status == 1 and "checked" in reply["message"]  # the second command's output tail
    (worktree / "done.txt").write_text("yes\n")
    cli("w", "task", "complete", "--id", "a", check=0)
    assert rpc({"command": "task_show", "task_id": "a"})["data"]["status"] == "completed"
    verdicts = [e["passed"] for e in fleet["events"]("verify", 3)]
    assert verdicts == [False, False, True]


def test_an_operator_may_skip_verification_or_complete_a_task_it_does_not_hold(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    fleet["plan"]({"a": {"verification_commands": ["false"]}, "b": {}})
    cli("w", "task", "claim", check=0)
    cli("w", "task", "complete", "--id", "a", "--no-verify", check=0)
    status, reply = cli("op", "task", "complete", "--id", "b")
    assert status == 1 and "not claimed by op" in reply["message"]
    cli("op", "task", "complete", "--id", "b", "--force", check=0)
    completes = fleet["events"]("complete", 2)
    assert completes[0].get("no_verify") is True and completes[1].get("force") is True
    assert rpc({"command": "task_claim", "worker_id": "x"})["data"]["plan_complete"] is True


def test_complete_next_drains_a_plan_in_one_request_per_task(fleet):
    cli = fleet["cli"]
    fleet["plan"]({"a": {}, "b": {"dependencies": ["a"]}, "c": {"dependencies": ["b"]}})
    _, reply = cli("w", "task", "claim", check=0)
    done = []
    while reply["data"].get("task") if "task" in reply["data"] else reply["data"]["next"]["task"]:
        current = reply["data"]["task"]["id"] if "task" in reply["data"] else reply["data"]["next"]["task"]["id"]
        _, reply = cli("w", "task", "complete", "--id", current, "--next", check=0)
        done.append(current)
    assert done == ["a", "b", "c"]
    assert reply["data"]["next"]["plan_complete"] is True


def test_heartbeats_and_commands_renew_the_lease(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    fleet["plan"]({"a": {"timeout_seconds": 600}})
    _, claim = cli("w", "task", "claim", check=0)
    first = claim["data"]["lease_expires_at"]
    _, beat = cli("w", "task", "heartbeat", "--id", "a", check=0)
    assert beat["data"]["lease_expires_at"] > first
    cli("w", "exec", "--", "true", check=0)
    after_exec = rpc({"command": "task_show", "task_id": "a"})["data"]
    assert after_exec["lease_expires_at"] > beat["data"]["lease_expires_at"]
    assert after_exec["started_at"] == claim["data"]["task"]["started_at"]  # work began then
    assert len(fleet["events"]("heartbeat", 1)) == 1


def test_release_gives_the_task_back_without_an_attempt(fleet):
    cli = fleet["cli"]
    fleet["plan"]({"a": {}})
    cli("w1", "task", "claim", check=0)
    _, released = cli("w1", "task", "release", "--id", "a", "--reason", "wrong skills", check=0)
    assert released["data"] == {"task_id": "a"}
    _, other = cli("w2", "task", "claim", check=0)
    assert _claimed_id(other) == "a" and other["data"]["attempt"] == 1
    assert fleet["events"]("release", 1)[0]["reason"] == "wrong skills"


def test_priority_roles_add_show_list_and_reset(fleet):
    cli, rpc = fleet["cli"], fleet["rpc"]
    fleet["plan"]({"low": {"priority": -1}, "plain": {}, "review": {"role": "reviewer", "priority": 5}})
    cli("op", "task", "add", "--id", "urgent", "--description", "Hotfix", "--priority", "9",
        "--depends-on", "plain", check=0)
    status, dup = cli("op", "task", "add", "--id", "urgent")
    assert status == 1 and "Duplicate task id: urgent" in dup["message"]
    _, r = cli("rev", "task", "claim", "--role", "reviewer", check=0)
    assert _claimed_id(r) == "review"
    _, r = cli("any", "task", "claim", check=0)
    assert _claimed_id(r) == "plain"
    status, text = cli("op", "task", "show", "--id", "urgent")
    assert status == 0 and "Hotfix" in text and "plain" in text
    _, listed = cli("op", "task", "list", "--status", "running", "--json", check=0)
    assert [t["id"] for t in listed["tasks"]] == ["plain", "review"]
    status, missing = cli("op", "task", "show", "--id", "ghost")
    assert status == 1
    cli("op", "plan", "reset", check=0)
    assert rpc({"command": "get_state"})["data"] is None
