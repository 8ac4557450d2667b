"""Issue 16: races between a stale holder and the current one for every verb a holder sends,
and a crash loop with heartbeats, failures and waiting claims: after every `kill -9` of the
daemon no task has two owners, attempts never go backwards, and no acknowledged transition is
lost."""

import json
import os
import random
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from harness.client import send_rpc


@pytest.fixture
def daemon(git_worktree, socket_path, cli_env, harness_bin, wait_for, answers):
    """start(): the real daemon binary for a git worktree (again after a kill); rpc(request)."""
    env = cli_env(git_worktree, socket_path)
    started = []

    def start():
        process = subprocess.Popen([harness_bin, "daemon"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        started.append(process)
        wait_for(lambda: process.poll() is not None or answers(socket_path))
        assert process.poll() is None
        return process

    def rpc(request):
        return send_rpc(socket_path, request)

    yield {"start": start, "rpc": rpc}
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def _wait_past(lease_expires_at):
    """Lets a lease run out: the lease is time, so the test waits for it."""
    expires = datetime.fromisoformat(lease_expires_at)
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.05)


VERBS = {
    "task_complete": {},
    "task_heartbeat": {},
    "task_release": {"reason": "race"},
    "task_fail": {"reason": "race"},
}


@pytest.mark.parametrize("command", sorted(VERBS))
def test_of_two_holders_racing_only_the_current_lease_wins(daemon, command):
    daemon["start"]()
    rpc = daemon["rpc"]
    assert rpc({"command": "update_state",
                "updates": {"tasks": {"a": {"timeout_seconds": 1}}}})["status"] == "ok"
    stale = rpc({"command": "task_claim", "worker_id": "old"})["data"]
    _wait_past(stale["lease_expires_at"])
    current = rpc({"command": "task_claim", "worker_id": "new"})["data"]
    assert current["is_reclaim"] and current["lease"] != stale["lease"]

    senders = [("old", stale["lease"])] * 6 + [("new", stale["lease"])] * 6 + [("new", current["lease"])]
    random.shuffle(senders)
    replies = [None] * len(senders)
    go = threading.Barrier(len(senders))

    def send(i, worker, lease):
        go.wait()
        replies[i] = rpc({"command": command, "task_id": "a", "worker_id": worker, "lease": lease,
                          **VERBS[command]})

    threads = [threading.Thread(target=send, args=(i, *s)) for i, s in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for (worker, lease), reply in zip(senders, replies):
        if lease == current["lease"]:
            assert reply["status"] == "ok", reply
        else:
            assert reply["status"] == "error" and "lease superseded" in reply["message"], reply
    task = rpc({"command": "task_show", "task_id": "a"})["data"]
    expected = {"task_complete": "completed", "task_heartbeat": "running",
                "task_release": "pending", "task_fail": "pending"}[command]
    assert task["status"] == expected


def test_a_daemon_killed_again_and_again_loses_no_acknowledged_lease_transition(daemon):
    rpc = daemon["rpc"]
    process = daemon["start"]()
    tasks = {f"t{i}": {"timeout_seconds": 2, "max_attempts": 4, "retry_backoff_seconds": 0}
             for i in range(40)}
    assert rpc({"command": "update_state", "updates": {"tasks": tasks}})["status"] == "ok"
    acked = {"complete": set(), "fail": {}}  # task -> acknowledged failures
    last_attempts = {}
    lock = threading.Lock()

    def worker(name, stop):
        held = None
        while not stop.is_set():
            try:
                if held is None:
                    reply = rpc({"command": "task_claim", "worker_id": name, "wait": 0.2})
                    data = reply.get("data") or {}
                    if data.get("task"):
                        held = (data["task"]["id"], data["lease"])
                    elif data.get("plan_complete"):
                        return
                    continue
                task_id, lease = held
                action = random.choice(["complete", "fail", "heartbeat", "heartbeat"])
                request = {"command": f"task_{action}", "task_id": task_id, "worker_id": name,
                           "lease": lease}
                if action == "fail":
                    request["reason"] = "crash loop"
                reply = rpc(request)
                if reply["status"] != "ok":
                    held = None  # superseded after a restart's expiry, or refused: claim again
                    continue
                with lock:
                    if action == "complete":
                        acked["complete"].add(task_id)
                    elif action == "fail":
                        acked["fail"][task_id] = acked["fail"].get(task_id, 0) + 1
                if action != "heartbeat":
                    held = None
            except Exception:  # the daemon is down: wait for it to come back
                held = None if random.random() < 0.5 else held
                time.sleep(0.05)

    for round_ in range(5):
        stop = threading.Event()
        workers = [threading.Thread(target=worker, args=(f"w{i}", stop)) for i in range(6)]
        for w in workers:
            w.start()
        time.sleep(random.uniform(0.2, 0.6))  # let work happen; then a crash at any moment
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        stop.set()
        for w in workers:
            w.join(30)
        process = daemon["start"]()
        state = rpc({"command": "get_state"})["data"]["tasks"]
        for task_id in acked["complete"]:
            assert state[task_id]["status"] == "completed", (round_, task_id)
        for task_id, task in state.items():
            attempts = task.get("attempts", 0)
            assert attempts >= last_attempts.get(task_id, 0), (round_, task_id)  # never back
            last_attempts[task_id] = attempts
            if task["status"] == "running":
                assert task["claimed_by"]  # one owner
        for task_id, failures in acked["fail"].items():
            task = state[task_id]
            # Every acknowledged failure is counted (no retry resets them here; an expired
            # lease adds its own).
            assert task.get("attempts", 0) >= failures, (round_, task_id, task)
    assert acked["complete"] and acked["fail"]  # the loop did exercise both
