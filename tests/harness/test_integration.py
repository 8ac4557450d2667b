"""Integration flows of the acceptance spec (shared/spec/integration-test-plan.md), run against
the harness Python package and CLI. The spec's nine tests appear verbatim below the fixtures;
further flows follow them."""

import json
import os
import socket as socket_module
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from harness.client import send_rpc
from harness.daemon import HarnessDaemon
from harness.state import StateManager, Task, TaskStatus, WorkflowState


def _wait_for(condition, timeout=10.0, interval=0.01):
    """Polls `condition` until it holds; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def _socket_answers(socket_path):
    try:
        return send_rpc(socket_path, {"command": "ping"})["status"] == "ok"
    except Exception:
        return False


def _make_send_command(socket_path):
    """One request per connection, as the Python original's clients did."""

    def send_command(cmd, max_retries=3):
        for attempt in range(max_retries):
            sock = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
            sock.settimeout(10.0)
            try:
                sock.connect(socket_path)
                sock.sendall(json.dumps(cmd).encode() + b"\n")
                response = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    response += chunk
                    if b"\n" in response:
                        break
                return json.loads(response.decode().strip())
            except ConnectionRefusedError:
                if attempt < max_retries - 1:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                raise
            finally:
                sock.close()

    return send_command


@pytest.fixture
def integration_worktree(tmp_path):
    """A git repository with one commit and a short, unique socket path under /tmp.

    Afterwards any daemon still answering on the socket (one a test started, or one the
    CLI auto-spawned) is shut down, and the socket and its lock file are removed.
    """
    worktree = tmp_path / "repo"
    worktree.mkdir()
    git = ["git", "-c", "user.name=harness-test", "-c", "user.email=test@localhost"]
    subprocess.run(git + ["init", "-q"], cwd=worktree, check=True)
    (worktree / "README.md").write_text("integration test repository\n")
    subprocess.run(git + ["add", "README.md"], cwd=worktree, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "initial commit"], cwd=worktree, check=True)
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"

    yield {"worktree": worktree, "socket": socket_path}

    if _socket_answers(socket_path):
        send_rpc(socket_path, {"command": "shutdown"})
        _wait_for(lambda: not os.path.exists(socket_path))
    for leftover in (socket_path, socket_path + ".lock"):
        if os.path.exists(leftover):
            os.unlink(leftover)


@pytest.fixture
def workflow_with_tasks(integration_worktree):
    """task-1 with no dependencies, task-2 and task-3 depending on it; a daemon in a thread."""
    worktree = integration_worktree["worktree"]
    socket_path = integration_worktree["socket"]

    manager = StateManager(worktree)
    manager.save(
        WorkflowState(
            tasks={
                "task-1": Task(id="task-1", description="First", status=TaskStatus.PENDING, dependencies=[]),
                "task-2": Task(id="task-2", description="Second", status=TaskStatus.PENDING, dependencies=["task-1"]),
                "task-3": Task(id="task-3", description="Third", status=TaskStatus.PENDING, dependencies=["task-1"]),
            }
        )
    )

    daemon = HarnessDaemon(socket_path, str(worktree))  # bound and listening once constructed
    server_thread = threading.Thread(target=daemon.serve_forever)
    server_thread.daemon = True
    server_thread.start()

    yield {
        "worktree": worktree,
        "socket": socket_path,
        "manager": manager,
        "daemon": daemon,
        "send_command": _make_send_command(socket_path),
        "thread": server_thread,
    }

    daemon.shutdown()
    server_thread.join(timeout=1)
    assert not server_thread.is_alive(), "serve_forever did not return within 1 s of shutdown()"


def _cli_env(worktree, socket_path, **extra):
    python_path = os.pathsep.join(os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    env = {
        "HARNESS_SOCKET": socket_path,
        "HARNESS_WORKTREE": str(worktree),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": python_path,
    }
    env.update(extra)
    return env


def _cli(args, env, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


# ---------------------------------------------------------------------------------------------
# The spec's nine flows, verbatim.
# ---------------------------------------------------------------------------------------------

def test_task_claim_idempotency(workflow_with_tasks):
    """Same worker claiming twice returns same task with is_retry=True."""
    send_command = workflow_with_tasks["send_command"]

    # First claim
    resp1 = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp1["status"] == "ok"
    assert resp1["data"]["task"]["id"] == "task-1"
    assert resp1["data"]["is_retry"] is False

    # Second claim by same worker - should return same task
    resp2 = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp2["status"] == "ok"
    assert resp2["data"]["task"]["id"] == "task-1"  # Same task
    assert resp2["data"]["is_retry"] is True  # Flagged as retry


def test_lease_renewal_on_reclaim(workflow_with_tasks):
    """Re-claiming updates started_at timestamp (lease renewal)."""
    from datetime import datetime, timezone

    send_command = workflow_with_tasks["send_command"]
    manager = workflow_with_tasks["manager"]

    # First claim
    resp1 = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp1["status"] == "ok"

    # Get initial started_at
    state1 = manager.load()
    started_at_1 = state1.tasks["task-1"].started_at
    assert started_at_1 is not None

    # Brief delay to ensure timestamp difference
    import time
    time.sleep(0.1)

    # Re-claim (lease renewal)
    resp2 = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp2["status"] == "ok"

    # Verify started_at was updated
    state2 = manager.load()
    started_at_2 = state2.tasks["task-1"].started_at
    assert started_at_2 > started_at_1  # Timestamp advanced


@pytest.fixture
def workflow_with_short_timeout(integration_worktree):
    """Set up workflow with very short task timeout for reclaim testing."""
    import socket as socket_module
    import threading

    from harness.daemon import HarnessDaemon
    from harness.state import StateManager, Task, TaskStatus, WorkflowState

    worktree = integration_worktree["worktree"]
    socket_path = integration_worktree["socket"]

    # Create task with 1 second timeout
    manager = StateManager(worktree)
    state = WorkflowState(
        tasks={
            "task-1": Task(
                id="task-1",
                description="Short timeout task",
                status=TaskStatus.PENDING,
                dependencies=[],
                timeout_seconds=1,  # Very short for testing
            ),
        }
    )
    manager.save(state)

    daemon = HarnessDaemon(socket_path, str(worktree))
    server_thread = threading.Thread(target=daemon.serve_forever)
    server_thread.daemon = True
    server_thread.start()
    time.sleep(0.2)

    def send_command(cmd, max_retries=3):
        for attempt in range(max_retries):
            sock = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
            sock.settimeout(10.0)
            try:
                sock.connect(socket_path)
                sock.sendall(json.dumps(cmd).encode() + b"\n")
                response = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    response += chunk
                    if b"\n" in response:
                        break
                return json.loads(response.decode().strip())
            except ConnectionRefusedError:
                if attempt < max_retries - 1:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                raise
            finally:
                sock.close()

    yield {
        "worktree": worktree,
        "socket": socket_path,
        "manager": manager,
        "daemon": daemon,
        "send_command": send_command,
    }

    daemon.shutdown()
    server_thread.join(timeout=1)


def test_timeout_reclaim_by_different_worker(workflow_with_short_timeout):
    """Timed-out task can be reclaimed by different worker with is_reclaim=True."""
    send_command = workflow_with_short_timeout["send_command"]

    # Worker-1 claims task
    resp1 = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp1["status"] == "ok"
    assert resp1["data"]["task"]["id"] == "task-1"

    # Wait for timeout (1 second + buffer)
    import time
    time.sleep(1.5)

    # Worker-2 can now reclaim the timed-out task
    resp2 = send_command({"command": "task_claim", "worker_id": "worker-2"})
    assert resp2["status"] == "ok"
    assert resp2["data"]["task"]["id"] == "task-1"
    assert resp2["data"]["is_reclaim"] is True  # Flagged as reclaim
    assert resp2["data"]["task"]["claimed_by"] == "worker-2"


def test_ownership_validation_on_complete(workflow_with_tasks):
    """Worker B cannot complete Worker A's task."""
    send_command = workflow_with_tasks["send_command"]

    # Worker-1 claims task-1
    resp = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert resp["status"] == "ok"
    assert resp["data"]["task"]["id"] == "task-1"

    # Worker-2 tries to complete Worker-1's task - should fail
    resp = send_command({
        "command": "task_complete",
        "task_id": "task-1",
        "worker_id": "worker-2"
    })
    assert resp["status"] == "error"
    assert "not claimed by" in resp["message"].lower()


@pytest.fixture
def workflow_with_parallel_tasks(integration_worktree):
    """Set up workflow with multiple independent tasks for parallel claiming."""
    import socket as socket_module
    import threading

    from harness.daemon import HarnessDaemon
    from harness.state import StateManager, Task, TaskStatus, WorkflowState

    worktree = integration_worktree["worktree"]
    socket_path = integration_worktree["socket"]

    # Create 3 independent tasks (no dependencies)
    manager = StateManager(worktree)
    state = WorkflowState(
        tasks={
            "task-1": Task(id="task-1", description="Independent 1", status=TaskStatus.PENDING, dependencies=[]),
            "task-2": Task(id="task-2", description="Independent 2", status=TaskStatus.PENDING, dependencies=[]),
            "task-3": Task(id="task-3", description="Independent 3", status=TaskStatus.PENDING, dependencies=[]),
        }
    )
    manager.save(state)

    daemon = HarnessDaemon(socket_path, str(worktree))
    server_thread = threading.Thread(target=daemon.serve_forever)
    server_thread.daemon = True
    server_thread.start()
    time.sleep(0.2)

    def send_command(cmd, max_retries=3):
        for attempt in range(max_retries):
            sock = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
            sock.settimeout(10.0)
            try:
                sock.connect(socket_path)
                sock.sendall(json.dumps(cmd).encode() + b"\n")
                response = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    response += chunk
                    if b"\n" in response:
                        break
                return json.loads(response.decode().strip())
            except ConnectionRefusedError:
                if attempt < max_retries - 1:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                raise
            finally:
                sock.close()

    yield {
        "worktree": worktree,
        "socket": socket_path,
        "manager": manager,
        "daemon": daemon,
        "send_command": send_command,
    }

    daemon.shutdown()
    server_thread.join(timeout=1)


def test_parallel_workers_get_unique_tasks(workflow_with_parallel_tasks):
    """Multiple workers claiming in parallel get different tasks."""
    import threading

    send_command = workflow_with_parallel_tasks["send_command"]

    claimed_tasks = []
    errors = []
    lock = threading.Lock()

    def claim_task(worker_id):
        try:
            resp = send_command({"command": "task_claim", "worker_id": worker_id})
            if resp["status"] == "ok" and resp["data"]["task"]:
                with lock:
                    claimed_tasks.append(resp["data"]["task"]["id"])
        except Exception as e:
            with lock:
                errors.append(str(e))

    # Launch 3 workers in parallel
    threads = [threading.Thread(target=claim_task, args=(f"worker-{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(errors) == 0, f"Errors: {errors}"
    assert len(claimed_tasks) == 3
    # All tasks should be unique
    assert len(set(claimed_tasks)) == 3


def test_cli_task_claim_and_complete(workflow_with_tasks):
    """Test task claim and complete via CLI subprocess."""
    import sys

    worktree = workflow_with_tasks["worktree"]
    socket_path = workflow_with_tasks["socket"]

    env = {
        "HARNESS_SOCKET": socket_path,
        "HARNESS_WORKTREE": str(worktree),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }

    # Claim task via CLI
    result = subprocess.run(
        [sys.executable, "-m", "harness", "task", "claim"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, f"task claim failed: {result.stderr}"
    output = json.loads(result.stdout)
    assert output["status"] == "ok"
    assert output["data"]["task"]["id"] == "task-1"

    # Complete task via CLI
    result = subprocess.run(
        [sys.executable, "-m", "harness", "task", "complete", "--id", "task-1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, f"task complete failed: {result.stderr}"
    output = json.loads(result.stdout)
    assert output["status"] == "ok"


def test_cli_exec_with_timeout_and_signal(workflow_with_tasks):
    """Test exec command with timeout produces signal_name in response."""
    import sys

    worktree = workflow_with_tasks["worktree"]
    socket_path = workflow_with_tasks["socket"]

    env = {
        "HARNESS_SOCKET": socket_path,
        "HARNESS_WORKTREE": str(worktree),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }

    # Exec a command that exceeds timeout (sleep 10 with 1s timeout)
    result = subprocess.run(
        [sys.executable, "-m", "harness", "exec", "--timeout", "1", "--", "sleep", "10"],
        capture_output=True,
        text=True,
        env=env,
    )
    # exec should return 0 (command ran, but inner process was killed)
    assert result.returncode == 0, f"exec failed: {result.stderr}"

    output = json.loads(result.stdout)
    assert output["status"] == "ok"
    # Process was killed with SIGTERM (signal 15)
    assert output["data"]["returncode"] < 0
    assert output["data"]["signal_name"] == "SIGTERM"


def test_dag_cycle_rejection(integration_worktree):
    """Saving workflow with cyclic dependencies raises error."""
    from harness.state import StateManager, Task, TaskStatus, WorkflowState

    worktree = integration_worktree["worktree"]
    manager = StateManager(worktree)

    # Create cyclic dependency: task-1 -> task-2 -> task-1
    state = WorkflowState(
        tasks={
            "task-1": Task(
                id="task-1",
                description="First",
                status=TaskStatus.PENDING,
                dependencies=["task-2"],  # Depends on task-2
            ),
            "task-2": Task(
                id="task-2",
                description="Second",
                status=TaskStatus.PENDING,
                dependencies=["task-1"],  # Depends on task-1 -> CYCLE!
            ),
        }
    )

    with pytest.raises(ValueError, match="[Cc]ycle"):
        manager.save(state)


def test_worker_id_stability_across_invocations(integration_worktree, tmp_path):
    """Worker ID persisted to file and consistent across process invocations."""
    import sys

    worktree = integration_worktree["worktree"]
    socket_path = integration_worktree["socket"]

    # Use a unique worker ID file location for this test
    worker_id_file = tmp_path / "worker.id"

    env = {
        "HARNESS_SOCKET": socket_path,
        "HARNESS_WORKTREE": str(worktree),
        "HARNESS_WORKER_ID_FILE": str(worker_id_file),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }

    # First invocation - generates worker ID
    result1 = subprocess.run(
        [sys.executable, "-m", "harness", "worker-id"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result1.returncode == 0, f"worker-id failed: {result1.stderr}"
    worker_id_1 = result1.stdout.strip()

    # Second invocation - should return same ID
    result2 = subprocess.run(
        [sys.executable, "-m", "harness", "worker-id"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result2.returncode == 0
    worker_id_2 = result2.stdout.strip()

    assert worker_id_1 == worker_id_2  # Same ID across invocations
    assert worker_id_file.exists()  # File was created


# ---------------------------------------------------------------------------------------------
# Further flows: the task life cycle, persistence, the CLI, and the embedding API's contract.
# ---------------------------------------------------------------------------------------------


def test_full_task_workflow(workflow_with_tasks):
    """Claim, dependents blocked, complete, dependents become claimable."""
    send_command = workflow_with_tasks["send_command"]

    first = send_command({"command": "task_claim", "worker_id": "worker-1"})
    assert first["data"]["task"]["id"] == "task-1"
    blocked = send_command({"command": "task_claim", "worker_id": "worker-2"})
    assert blocked["status"] == "ok" and blocked["data"]["task"] is None

    done = send_command({"command": "task_complete", "task_id": "task-1", "worker_id": "worker-1"})
    assert done == {"status": "ok", "data": {"task_id": "task-1"}}

    second = send_command({"command": "task_claim", "worker_id": "worker-2"})
    third = send_command({"command": "task_claim", "worker_id": "worker-3"})
    assert [second["data"]["task"]["id"], third["data"]["task"]["id"]] == ["task-2", "task-3"]
    assert second["data"]["task"]["status"] == "running"
    assert second["data"]["task"]["claimed_by"] == "worker-2"

    state = workflow_with_tasks["manager"].load()
    assert state.tasks["task-1"].status == TaskStatus.COMPLETED
    assert state.tasks["task-1"].completed_at is not None


def test_dependency_enforcement(workflow_with_tasks):
    """A task whose dependencies are not completed can be neither claimed nor completed."""
    send_command = workflow_with_tasks["send_command"]

    send_command({"command": "task_claim", "worker_id": "worker-1"})
    for worker in ("worker-2", "worker-3"):
        resp = send_command({"command": "task_claim", "worker_id": worker})
        assert resp["data"]["task"] is None
    resp = send_command({"command": "task_complete", "task_id": "task-2", "worker_id": "worker-2"})
    assert resp["status"] == "error"
    assert resp["message"] == "Task task-2 is not claimed by worker-2"

    state = workflow_with_tasks["manager"].load()
    assert state.tasks["task-2"].status == TaskStatus.PENDING
    assert state.tasks["task-3"].status == TaskStatus.PENDING


def test_state_persists_across_daemon_restart_with_autospawn(integration_worktree):
    worktree = integration_worktree["worktree"]
    socket_path = integration_worktree["socket"]
    StateManager(worktree).save(WorkflowState(tasks={"a": Task(id="a"), "b": Task(id="b", dependencies=["a"])}))

    daemon = HarnessDaemon(socket_path, str(worktree))
    thread = threading.Thread(target=daemon.serve_forever, daemon=True)
    thread.start()
    assert send_rpc(socket_path, {"command": "task_claim", "worker_id": "w"})["data"]["task"]["id"] == "a"
    assert send_rpc(socket_path, {"command": "task_complete", "task_id": "a", "worker_id": "w"})["status"] == "ok"
    daemon.shutdown()
    thread.join(timeout=1)
    assert not os.path.exists(socket_path)

    # No daemon now: the client starts one (the harness binary) for the worktree.
    state = send_rpc(socket_path, {"command": "get_state"}, worktree_root=worktree)
    assert state["status"] == "ok"
    assert state["data"]["tasks"]["a"]["status"] == "completed"
    assert state["data"]["tasks"]["b"]["status"] == "pending"
    ping = send_rpc(socket_path, {"command": "ping"})
    assert ping["data"]["pid"] != os.getpid()
    assert ping["data"]["worktree"] == str(worktree)


def test_cli_ping_and_git_status(integration_worktree):
    env = _cli_env(integration_worktree["worktree"], integration_worktree["socket"])

    ping = _cli(["ping"], env)
    assert ping.returncode == 0, ping.stderr
    assert ping.stdout.strip() == "ok"

    status = _cli(["git", "--", "status", "--short", "--branch"], env, cwd=integration_worktree["worktree"])
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("## ")
    assert ".harness" not in status.stdout  # the state directory ignores itself


def test_cli_get_state_without_workflow(integration_worktree):
    env = _cli_env(integration_worktree["worktree"], integration_worktree["socket"])
    result = _cli(["get-state"], env)
    assert result.returncode == 1
    assert "No active workflow" in result.stdout


def test_cli_session_start_reports_progress(integration_worktree):
    worktree = integration_worktree["worktree"]
    tasks = {f"t{i}": Task(id=f"t{i}", status=TaskStatus.COMPLETED if i < 2 else TaskStatus.PENDING) for i in range(8)}
    StateManager(worktree).save(WorkflowState(tasks=tasks))

    result = _cli(["session-start"], _cli_env(worktree, integration_worktree["socket"]))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "Resuming workflow: task 2/8"}
    }

    check = _cli(["check-state"], _cli_env(worktree, integration_worktree["socket"]))
    assert check.returncode == 1
    assert check.stdout.strip() == "deny: Workflow in progress (2/8)"


def test_cli_session_start_without_workflow(integration_worktree):
    result = _cli(["session-start"], _cli_env(integration_worktree["worktree"], integration_worktree["socket"]))
    assert result.returncode == 0
    assert json.loads(result.stdout) == {}


def test_cli_shutdown(workflow_with_tasks):
    env = _cli_env(workflow_with_tasks["worktree"], workflow_with_tasks["socket"])

    result = _cli(["shutdown"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Shutdown requested"
    workflow_with_tasks["thread"].join(timeout=1)
    assert not workflow_with_tasks["thread"].is_alive()
    assert not os.path.exists(workflow_with_tasks["socket"])

    again = _cli(["shutdown"], env)
    assert again.stdout.strip() == "Daemon not running"


def test_parallel_git_status_has_no_index_lock_errors(workflow_with_tasks):
    send_command = workflow_with_tasks["send_command"]
    (workflow_with_tasks["worktree"] / "new.txt").write_text("untracked\n")
    results = []
    lock = threading.Lock()

    def git_status():
        resp = send_command({"command": "git", "args": ["status", "--porcelain"]})
        with lock:
            results.append(resp)

    threads = [threading.Thread(target=git_status) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 10
    for resp in results:
        assert resp["status"] == "ok"
        assert resp["data"]["returncode"] == 0, resp["data"]["stderr"]
        assert "index.lock" not in resp["data"]["stderr"]
        assert "?? new.txt" in resp["data"]["stdout"]


def test_timestamps_are_aware_utc_with_microseconds(workflow_with_tasks):
    from datetime import timezone

    send_command = workflow_with_tasks["send_command"]
    send_command({"command": "task_claim", "worker_id": "worker-1"})
    send_command({"command": "task_complete", "task_id": "task-1", "worker_id": "worker-1"})
    task = workflow_with_tasks["manager"].load().tasks["task-1"]

    assert task.started_at.tzinfo is not None and task.started_at.utcoffset().total_seconds() == 0
    assert task.completed_at >= task.started_at
    assert task.status is TaskStatus.COMPLETED and task.status == "completed"
    assert isinstance(task.timeout_seconds, int) and task.timeout_seconds == 600
    wire = send_command({"command": "get_state"})["data"]["tasks"]["task-1"]
    assert wire["started_at"] == task.started_at.isoformat()


def test_task_defaults_and_round_trip(integration_worktree):
    manager = StateManager(integration_worktree["worktree"])
    assert manager.load() is None
    task = Task(id="a", description="d", instructions="do it", command=["echo", "hi"])
    manager.save(WorkflowState(tasks={"a": task}))
    loaded = manager.load().tasks["a"]
    assert loaded == task
    assert loaded.timeout_seconds == 600 and loaded.status == TaskStatus.PENDING


def test_save_rejects_missing_dependency_and_writes_nothing(integration_worktree):
    manager = StateManager(integration_worktree["worktree"])
    with pytest.raises(ValueError, match="Missing dependency: ghost \\(required by a\\)"):
        manager.save(WorkflowState(tasks={"a": Task(id="a", dependencies=["ghost"])}))
    with pytest.raises(ValueError, match="Cycle detected at a"):
        manager.save(WorkflowState(tasks={"a": Task(id="a", dependencies=["a"])}))
    assert manager.load() is None


def test_second_daemon_on_same_socket_is_refused(workflow_with_tasks):
    with pytest.raises(Exception, match="already running"):
        HarnessDaemon(workflow_with_tasks["socket"], str(workflow_with_tasks["worktree"]))
    assert workflow_with_tasks["send_command"]({"command": "ping"})["status"] == "ok"


def test_daemon_restarts_in_same_process(integration_worktree):
    socket_path = integration_worktree["socket"]
    worktree = str(integration_worktree["worktree"])
    for _ in range(3):
        daemon = HarnessDaemon(socket_path, worktree)
        thread = threading.Thread(target=daemon.serve_forever, daemon=True)
        thread.start()
        assert send_rpc(socket_path, {"command": "ping"})["data"]["pid"] == os.getpid()
        daemon.shutdown()
        thread.join(timeout=1)
        assert not thread.is_alive()
        assert not os.path.exists(socket_path)
        assert not os.path.exists(socket_path + ".lock")


def test_serve_forever_releases_the_gil(workflow_with_tasks):
    counter = {"n": 0}
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter["n"] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        start = counter["n"]
        _wait_for(lambda: counter["n"] > start + 1000)
        assert workflow_with_tasks["send_command"]({"command": "ping"})["status"] == "ok"
    finally:
        stop.set()
        spinner.join()
