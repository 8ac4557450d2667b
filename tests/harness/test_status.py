"""Issue 18: `harness status` (text on an 80-column terminal, colour rules, --json), its
--watch under tmux (redrawn from the daemon's events), and `harness log`'s filters, against
one real daemon for the module: a plan with a completed, a running, a failed, a blocked, a
ready and a waiting task."""

import json
import os
import re
import select
import shutil
import subprocess
import time
import uuid

import pytest

from harness.client import send_rpc

GIT = ["git", "-c", "user.name=harness-test", "-c", "user.email=test@localhost"]
LONG_ID = "a-very-long-task-identifier-that-cannot-fit-in-its-column-at-all"
PLAN = {"tasks": [
    {"id": "done-1"},
    {"id": "fails-1", "max_attempts": 1},
    {"id": "runs-1"},
    {"id": LONG_ID, "dependencies": ["fails-1"]},
    {"id": "ready-1"},
    {"id": "ready-2"},
    {"id": "waits-1", "dependencies": ["runs-1"]},
]}
ERROR = "compiler exploded: " + "x" * 120


def _wait_for(condition, timeout=30.0, what="condition"):
    """Polls `condition` (something another process does) until it holds, or fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, harness_bin):
    repo = tmp_path_factory.mktemp("status") / "repo"
    repo.mkdir()
    subprocess.run(GIT + ["init", "-q"], cwd=repo, check=True)
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"
    env = {"HARNESS_SOCKET": socket_path, "HARNESS_WORKTREE": str(repo), "PATH": os.environ["PATH"],
           "HOME": str(repo.parent)}
    daemon = subprocess.Popen([harness_bin, "daemon"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def cli(*args, worker="op", check=True, **extra):
        result = subprocess.run([harness_bin, *args], env={**env, "HARNESS_WORKER_ID": worker, **extra},
                                capture_output=True, text=True, timeout=60, cwd=repo)
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    _wait_for(lambda: daemon.poll() is not None or os.path.exists(socket_path), what="daemon start")
    plan = repo.parent / "plan.json"
    plan.write_text(json.dumps(PLAN))
    cli("plan", "import", "-f", str(plan))
    assert json.loads(cli("task", "claim", worker="alice").stdout)["data"]["task"]["id"] == "done-1"
    cli("task", "complete", "--id", "done-1", worker="alice")
    assert json.loads(cli("task", "claim", worker="carol").stdout)["data"]["task"]["id"] == "fails-1"
    cli("task", "fail", "--id", "fails-1", "--reason", ERROR, worker="carol")
    assert json.loads(cli("task", "claim", worker="bob").stdout)["data"]["task"]["id"] == "runs-1"
    yield {"cli": cli, "env": env, "repo": repo, "bin": harness_bin, "socket": socket_path}
    send_rpc(socket_path, {"command": "shutdown"})
    daemon.wait(30)


def test_status_shows_progress_leases_failures_and_blockers(fleet):
    out = fleet["cli"]("status").stdout
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "] 14% 1/7" in lines[0]
    assert "1/7 completed, 1 running, 4 pending, 1 failed" in lines
    assert "pending: 2 ready, 1 waiting, 0 backing off, 1 blocked" in lines
    running = next(line for line in lines if "runs-1" in line)
    assert "bob" in running and "lease 9m" in running and "attempt 1/3" in running
    failed = next(line for line in lines if "fails-1" in line and "attempts" in line)
    assert "attempts 1/1, blocks 1: compiler exploded: xxx" in failed and failed.endswith("...")
    blocked = next(line for line in lines if " by fails-1" in line)
    assert LONG_ID[:20] in blocked and LONG_ID not in blocked and "..." in blocked
    assert "Recent events" in out and "claim" in out and "by bob" in out


def test_status_json_has_the_old_counts_and_the_whole_view(fleet):
    data = json.loads(fleet["cli"]("status", "--json").stdout)
    assert {k: data[k] for k in ("completed", "running", "pending", "failed", "total")} == {
        "completed": 1, "running": 1, "pending": 4, "failed": 1, "total": 7}
    assert {k: data[k] for k in ("ready", "waiting", "backoff", "blocked")} == {
        "ready": 2, "waiting": 1, "backoff": 0, "blocked": 1}
    assert data["commands"]["max"] == 64 and "commits" in data and data["waiting_claims"] == 0
    [running] = data["running_tasks"]
    assert (running["id"], running["worker_id"], running["attempt"]) == ("runs-1", "bob", 1)
    assert 0 < running["lease_seconds_left"] <= 600
    [failed] = data["failed_tasks"]
    assert (failed["id"], failed["last_error"], failed["blocks"]) == ("fails-1", ERROR, 1)
    assert data["blocked_tasks"] == [{"id": LONG_ID, "description": "", "blocked_by": ["fails-1"]}]
    assert data["throughput"]["completed"] == 1 and data["throughput"]["remaining"] == 4
    assert data["throughput"]["eta_seconds"] > 0
    assert [e["event"] for e in data["recent_events"]][-1] == "claim"
    assert {w["worker_id"] for w in data["workers"]} >= {"alice", "bob", "carol"}


def test_log_filters_by_task_worker_kind_and_time(fleet):
    cli = fleet["cli"]

    def events(*args):
        return [json.loads(line) for line in cli("log", *args).stdout.splitlines()]

    assert {e["task_id"] for e in events("--task", "fails-1")} == {"fails-1"}
    assert [e["event"] for e in events("--task", "fails-1")] == ["claim", "fail"]
    assert {e["worker_id"] for e in events("--worker", "alice")} == {"alice"}
    assert [e["event"] for e in events("--event", "claim,fail")] == ["claim", "claim", "fail", "claim"]
    assert [e["task_id"] for e in events("--event", "claim", "-n", "1")] == ["runs-1"]
    assert len(events("--since", "10m")) >= 6
    assert events("--since", "2999-01-01T00:00:00Z") == []
    assert events("--since", "2000-01-01", "--worker", "bob", "--event", "claim")[0]["task_id"] == "runs-1"
    text = cli("log", "--text", "--task", "done-1").stdout.splitlines()
    assert len(text) == 2 and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z  claim +done-1  by alice", text[0])
    bad = cli("log", "--since", "yesterday", check=False)
    assert bad.returncode == 2 and "--since" in bad.stderr and "10m" in bad.stderr


def test_status_colours_on_a_terminal_unless_no_color(fleet, tmux):
    coloured = tmux.run_to_end(["status"])
    assert "\x1b[31m" in coloured  # the failed task, in red
    plain = tmux.run_to_end(["status"], NO_COLOR="1")
    assert "\x1b[3" not in plain and "fails-1" in plain


def test_log_follows_with_filters(fleet):
    follower = subprocess.Popen([fleet["bin"], "log", "-f", "-n", "0", "--event", "complete", "--json"],
                                env={**fleet["env"], "HARNESS_WORKER_ID": "op"}, stdout=subprocess.PIPE,
                                text=True)
    try:
        claimed = json.loads(fleet["cli"]("task", "claim", worker="erin").stdout)["data"]["task"]["id"]
        fleet["cli"]("task", "complete", "--id", claimed, worker="erin")
        ready, _, _ = select.select([follower.stdout], [], [], 30)
        assert ready, "no event followed within 30 s"
        event = json.loads(follower.stdout.readline())
        assert (event["event"], event["task_id"], event["worker_id"]) == ("complete", claimed, "erin")
    finally:
        follower.terminate()
        follower.wait(10)


# ---- status --watch under tmux -------------------------------------------------------------


class Tmux:
    """A tmux server of its own (-L), an 80x40 window per command, read with capture-pane."""

    def __init__(self, fleet):
        self.fleet = fleet
        self.server = f"harness-test-{uuid.uuid4().hex[:8]}"
        self.count = 0
        self.status_files = {}
        # A pane stays when its command ends (from the server's start: a command may end at once).
        self.config = fleet["repo"].parent / "tmux.conf"
        self.config.write_text("set-option -g remain-on-exit on\n")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.server, "-f", str(self.config), *args],
                              capture_output=True, text=True, timeout=30)

    def start(self, harness_args, **extra):
        """Runs harness with `harness_args` in a new 80x40 window; its exit status goes to a file
        (bash, unlike sh, outlives a Ctrl-C that its command survives). Returns the window."""
        self.count += 1
        name = f"w{self.count}"
        status = self.fleet["repo"].parent / f"{self.server}-{name}.status"
        env = {**self.fleet["env"], "HARNESS_WORKER_ID": "watcher", "TERM": "xterm-256color",
               "STATUS_FILE": str(status), **extra}
        command = ["env", "-i", *[f"{k}={v}" for k, v in env.items()], "bash", "-c",
                   '"$@"; echo $? > "$STATUS_FILE"', "bash", self.fleet["bin"], *harness_args]
        made = self.tmux("new-session", "-d", "-x", "80", "-y", "40", "-s", name, "--", *command)
        assert made.returncode == 0, made.stderr
        self.status_files[name] = status
        return name

    def screen(self, name, escapes=False):
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", name).stdout

    def exit_status(self, name):
        """The exit status of the window's command once it has ended, else None."""
        status = self.status_files[name]
        text = status.read_text() if status.exists() else ""
        return int(text) if text.endswith("\n") else None

    def run_to_end(self, harness_args, **extra):
        """The screen of a command run to its end, with its colour codes."""
        name = self.start(harness_args, **extra)
        _wait_for(lambda: self.exit_status(name) is not None, what="the command to end")
        return self.screen(name, escapes=True)


@pytest.fixture
def tmux(fleet):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/bootstrap installs it)")
    t = Tmux(fleet)
    yield t
    t.tmux("kill-server")


def test_status_watch_redraws_on_each_event_and_ends_on_ctrl_c(fleet, tmux):
    name = tmux.start(["status", "--watch"])
    first = _wait_for(lambda: (s := tmux.screen(name)) and "Running (1)" in s and s, what="the first frame")
    lines = first.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "runs-1" in first and "fails-1" in first
    completed_before = int(re.search(r"(\d+)/7 completed", first).group(1))

    claimed = json.loads(fleet["cli"]("task", "claim", worker="frank").stdout)["data"]["task"]["id"]
    _wait_for(lambda: "Running (2)" in tmux.screen(name) and "frank" in tmux.screen(name),
              what="the claim on the screen")
    fleet["cli"]("task", "complete", "--id", claimed, worker="frank")
    _wait_for(lambda: f"{completed_before + 1}/7 completed" in tmux.screen(name),
              what="the completion on the screen")

    tmux.tmux("send-keys", "-t", name, "C-c")
    _wait_for(lambda: tmux.exit_status(name) is not None, what="the watch to end")
    assert tmux.exit_status(name) == 0
    assert f"{completed_before + 1}/7 completed" in tmux.screen(name)  # the last frame stays
