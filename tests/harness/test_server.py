"""The daemon under hostile plan files and clients that go away (issue 13, items 1, 4 and 7):
through the embedding API (HarnessDaemon in a Python process of its own, which must survive)
and through the real CLI as an agent runs it (Ctrl-C on `harness exec`)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.client import send_rpc


@pytest.fixture
def scratch(tmp_path, git_worktree, socket_path):
    def env(**extra):
        return dict(os.environ, HARNESS_SOCKET=socket_path, HARNESS_WORKTREE=str(git_worktree), **extra)

    return {"worktree": git_worktree, "socket": socket_path, "dir": tmp_path, "env": env}


# The embedded daemon in a process of its own: a crash (it aborted with std::bad_function_call)
# must show as a failed test, not take pytest down.
_EMBEDDED = textwrap.dedent(
    """
    import json, os, socket, sys, threading
    from harness.daemon import HarnessDaemon
    from harness.client import send_rpc

    sock, worktree, files, big = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    daemon = HarnessDaemon(sock, worktree)
    server = threading.Thread(target=daemon.serve_forever)
    server.start()
    for f in files:
        reply = send_rpc(sock, {"command": "plan_import", "file": f, "force": True})
        print(json.dumps({"file": f, "reply": reply}), flush=True)
        assert send_rpc(sock, {"command": "ping"})["status"] == "ok"
    # An import in flight while the daemon shuts down (a use-after-free before).
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    c.sendall(json.dumps({"command": "plan_import", "file": big, "force": True}).encode() + b"\\n")
    daemon.shutdown()
    server.join(10)
    assert not server.is_alive(), "serve_forever did not return"
    print("survived", flush=True)
    """
)


def test_embedded_daemon_answers_bad_plan_files_and_shuts_down_with_an_import_in_flight(scratch):
    d = scratch["dir"]
    fifo = d / "fifo"
    os.mkfifo(fifo)
    (d / "not.json").write_text("not json")
    (d / "empty.json").write_text("")
    (d / "dup.json").write_text('{"tasks": {"a": {"id": "a"}, "a": {"id": "a"}}}')
    (d / "cmd.json").write_text('[{"id": "a", "command": "ls"}]')
    (d / "big.json").write_text(json.dumps([{"id": f"t{i}"} for i in range(20000)]))
    files = [str(p) for p in (d / "not.json", d / "missing.json", d, Path("/dev/null"), d / "empty.json",
                              fifo, d / "dup.json", d / "cmd.json")]
    run = subprocess.run(
        [sys.executable, "-c", _EMBEDDED, scratch["socket"], str(scratch["worktree"]), json.dumps(files),
         str(d / "big.json")],
        capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )
    assert run.returncode == 0, f"the host process died (rc {run.returncode}): {run.stderr[-2000:]}"
    lines = run.stdout.splitlines()
    assert lines[-1] == "survived"
    replies = [json.loads(line) for line in lines[:-1]]
    assert [r["file"] for r in replies] == files
    for r in replies:
        assert r["reply"]["status"] == "error", r
        assert r["file"] in r["reply"]["message"], r


def test_ctrl_c_on_cli_exec_kills_the_command(scratch, binary_daemon, harness_bin, wait_for):
    env = scratch["env"]()
    binary_daemon(env, "--max-commands", "4")
    pid_file = scratch["dir"] / "cmd.pid"
    done_file = scratch["dir"] / "cmd.done"
    cli = subprocess.Popen(
        [harness_bin, "exec", "--", "sh", "-c", f'echo $$ > {pid_file}; sleep 30; touch {done_file}'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # As in a terminal: a test run in the background of a non-interactive shell (as CI
        # may be) inherits SIGINT ignored, and Ctrl-C would then mean nothing to the CLI.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    pid = int(pid_file.read_text())
    cli.send_signal(signal.SIGINT)  # Ctrl-C
    cli.communicate(timeout=10)

    def gone():
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True

    wait_for(gone, timeout=15)
    assert not done_file.exists()
    # The daemon is still up, and counts the command as gone; --max-commands took effect.
    plan = {"command": "update_state", "updates": {"tasks": {"a": {"id": "a"}}}}
    assert send_rpc(scratch["socket"], plan)["status"] == "ok"
    commands = lambda: send_rpc(scratch["socket"], {"command": "status"})["data"]["commands"]
    wait_for(lambda: commands()["running"] == 0)
    assert commands() == {"running": 0, "queued": 0, "max": 4}


def test_cli_plan_import_of_bad_files_reports_each_and_the_daemon_stays_up(scratch, harness_bin):
    env = scratch["env"]()
    d = scratch["dir"]
    os.mkfifo(d / "fifo")
    (d / "not.json").write_text("not json")
    (d / "timeout.json").write_text('[{"id": "a", "timeout_seconds": 30.5}]')
    (d / "mismatch.json").write_text('{"tasks": {"a": {"id": "b"}}}')
    bad = [d / "not.json", d / "missing.json", d / "fifo", Path("/dev/zero"), d / "timeout.json", d / "mismatch.json"]
    for f in bad:
        run = subprocess.run([harness_bin, "plan", "import", "--file", str(f)], env=env,
                             capture_output=True, text=True, timeout=30)
        assert run.returncode != 0, (f, run.stdout, run.stderr)
        assert str(f) in run.stdout + run.stderr, (f, run.stdout, run.stderr)
        assert "closed the connection" not in run.stdout + run.stderr
        assert subprocess.run([harness_bin, "ping"], env=env, capture_output=True).returncode == 0
    (d / "good.json").write_text('[{"id": "a"}]')
    good = subprocess.run([harness_bin, "plan", "import", "--file", str(d / "good.json")], env=env,
                          capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good.stderr


def test_cli_status_counts_tasks_and_commands(scratch, harness_bin):
    env = scratch["env"](HARNESS_WORKER_ID="w1")

    def cli(*args):
        return subprocess.run([harness_bin, *args], env=env, capture_output=True, text=True, timeout=60)

    none = cli("status")
    assert (none.returncode, none.stdout) == (1, "No active workflow\n"), none.stderr
    plan = scratch["dir"] / "plan.json"
    plan.write_text(json.dumps({"tasks": {"a": {}, "b": {"dependencies": ["a"]}, "c": {}}}))
    assert cli("plan", "import", "-f", str(plan)).returncode == 0
    assert cli("task", "claim").returncode == 0
    assert cli("task", "complete", "--id", "a").returncode == 0
    assert cli("task", "claim").returncode == 0
    text = cli("status")
    assert text.returncode == 0
    # Issue 18 made the text a whole view; its counts line says what the one line said.
    assert "1/3 completed, 1 running, 1 pending, 0 failed" in text.stdout.splitlines()
    data = json.loads(cli("status", "--json").stdout)
    assert {k: data[k] for k in ("completed", "running", "pending", "failed", "total")} == {
        "completed": 1, "running": 1, "pending": 1, "failed": 0, "total": 3}
    assert data["commands"] == {"running": 0, "queued": 0, "max": 64}


def test_a_client_that_only_shuts_down_its_sending_side_still_gets_its_reply(scratch, binary_daemon):
    """docs/protocol.md: half-closing is not going away; only a closed connection cancels."""
    import socket

    env = scratch["env"]()
    binary_daemon(env)
    c = socket.socket(socket.AF_UNIX)
    c.connect(scratch["socket"])
    marker = scratch["dir"] / "ran"
    request = {"command": "exec", "args": ["sh", "-c", f"sleep 0.3; echo done > '{marker}'; echo out"]}
    c.sendall(json.dumps(request).encode() + b"\n")
    c.shutdown(socket.SHUT_WR)
    c.settimeout(30)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = c.recv(65536)
        assert chunk, "the daemon closed the connection without replying"
        reply += chunk
    c.close()
    data = json.loads(reply)
    assert data["status"] == "ok", data
    assert (data["data"]["returncode"], data["data"]["stdout"]) == (0, "out\n")
    assert marker.read_text() == "done\n"


def test_the_daemon_refuses_a_running_task_without_owner_as_python_does(scratch, harness_bin):
    env = scratch["env"](HARNESS_WORKER_ID="w1")
    plan = scratch["dir"] / "ownerless.json"
    plan.write_text(json.dumps([{"id": "a", "status": "running"}, {"id": "b", "dependencies": ["a"]}]))
    imported = subprocess.run([harness_bin, "plan", "import", "-f", str(plan)], env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 1
    assert "Task a is running but has no owner (claimed_by)" in imported.stderr
    updated = subprocess.run([harness_bin, "update-state"], env=env, capture_output=True, text=True,
                             input=json.dumps({"tasks": {"a": {"status": "running"}}}), timeout=60)
    assert updated.returncode == 1 and "has no owner" in updated.stderr
    state = subprocess.run([harness_bin, "get-state"], env=env, capture_output=True, text=True, timeout=60)
    assert state.stdout == "No active workflow\n"  # nothing was written


def test_a_last_line_without_its_newline_gets_an_error_not_silence(scratch, binary_daemon):
    import socket

    env = scratch["env"]()
    binary_daemon(env)
    marker = scratch["dir"] / "ran"
    for request in ({"command": "ping"}, {"command": "exec", "args": ["touch", str(marker)]}):
        c = socket.socket(socket.AF_UNIX)
        c.connect(scratch["socket"])
        c.sendall(json.dumps(request).encode())  # no newline
        c.shutdown(socket.SHUT_WR)
        c.settimeout(30)
        reply = c.recv(65536)
        c.close()
        data = json.loads(reply)
        assert data["status"] == "error" and "newline" in data["message"], data
    assert not marker.exists()  # an unterminated request is never run
    assert send_rpc(scratch["socket"], {"command": "ping"})["status"] == "ok"


def _plan(n):
    return {
        f"t{i}": {"id": f"t{i}", "description": f"Task {i}: " + "d" * 150,
                  "dependencies": [f"t{i - 100}"] if i >= 100 else []}
        for i in range(n)
    }


def test_a_twenty_thousand_task_update_state_goes_through_the_python_client(scratch):
    """About 4 MB on one line, beyond the 1 MiB of other requests, as the Python original took
    it; "command" may come last in the dict the caller builds."""
    request = {"updates": {"tasks": _plan(20000)}, "command": "update_state"}
    assert len(json.dumps(request)) > 4_000_000
    reply = send_rpc(scratch["socket"], request, scratch["worktree"])
    assert reply["status"] == "ok", reply.get("message")
    assert len(reply["data"]["tasks"]) == 20000
    reply = send_rpc(scratch["socket"], {"command": "plan_import", "tasks": list(_plan(30000).values()),
                                         "force": True}, scratch["worktree"])
    assert reply == {"status": "ok", "data": {"imported": 30000}}
    status = send_rpc(scratch["socket"], {"command": "status"}, scratch["worktree"])
    assert status["data"]["total"] == 30000


def test_a_long_request_that_is_no_plan_is_refused_with_the_limit(scratch):
    reply = send_rpc(scratch["socket"], {"command": "ping", "pad": "x" * (2 << 20)},
                     scratch["worktree"])
    assert reply["status"] == "error"
    assert "exceeds 1048576 bytes" in reply["message"]
    assert send_rpc(scratch["socket"], {"command": "ping"}, scratch["worktree"])["status"] == "ok"
