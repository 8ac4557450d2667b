"""Issue 20: several daemons, each with its own worktree and socket, sharing one plan in a real
PostgreSQL (a throwaway cluster started here with scripts/pg-cluster): exactly one winner for
every task, claims woken across daemons, the fleet's log, a daemon killed with SIGKILL and the
server restarted under load — every task completed exactly once and no acknowledged change
lost."""

import json
import os
import signal
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from harness.client import send_rpc

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-cluster"
# The stress test's size; HARNESS_STRESS_SCALE (CI's sanitizer run) shrinks it.
SCALE = float(os.environ.get("HARNESS_STRESS_SCALE", "1"))


@pytest.fixture(scope="module")
def cluster():
    """A cluster of this module's own: url, and restart() (a fast shutdown, then a start). Its
    directory is right under /tmp: as root the server runs as `nobody`, who must reach it."""
    directory = tempfile.mkdtemp(prefix="harness-pg-")
    started = subprocess.run([SCRIPT, "start", directory, "--no-fsync"], capture_output=True,
                             text=True)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()

    class Cluster:
        def restart(self):
            subprocess.run([SCRIPT, "restart", directory], check=True, capture_output=True)

    found = Cluster()
    found.url = url
    yield found
    subprocess.run([SCRIPT, "destroy", directory], check=False, capture_output=True)


@pytest.fixture
def fleet(tmp_path, cluster, make_git_repo, make_socket_path, cli_env, binary_daemon, harness_bin):
    """start(n, plan=...): n daemons on the cluster, each serving a clone of one repository on a
    socket of its own, all on plan `plan` (a fresh name unless given); cli(i, *args) runs the
    CLI against daemon i."""
    origin = make_git_repo(tmp_path / "origin")
    daemons = []

    class Fleet:
        def start(self, n, plan=None, extra_env=None):
            plan = plan or f"plan-{uuid.uuid4().hex[:8]}"
            for _ in range(n):
                clone = tmp_path / f"clone{len(daemons)}"
                subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
                store = {"HARNESS_STORE": cluster.url, "HARNESS_PLAN": plan, **(extra_env or {})}
                env = cli_env(clone, make_socket_path(), **store)
                daemons.append({"env": env, "process": binary_daemon(env), "worktree": clone})
            return daemons

        def cli(self, i, *args, worker=None, check=True, env_extra=None):
            env = {k: v for k, v in {**daemons[i]["env"], **(env_extra or {})}.items()
                   if v is not None}
            if worker:
                env["HARNESS_WORKER_ID"] = worker
            result = subprocess.run([harness_bin, *args], env=env, capture_output=True, text=True,
                                    timeout=120)
            if check:
                assert result.returncode == 0, result.stderr + result.stdout
            return result

        def rpc(self, i, request):
            return send_rpc(daemons[i]["env"]["HARNESS_SOCKET"], request)

    return Fleet()


def _plan_file(tmp_path, n, timeout=600, chain_every=0):
    """A plan of n tasks; with chain_every k, task i depends on task i-1 unless i % k == 0."""
    tasks = {}
    for i in range(n):
        task = {"description": f"task {i}", "timeout_seconds": timeout}
        if chain_every and i % chain_every:
            task["dependencies"] = [f"t{i - 1}"]
        tasks[f"t{i}"] = task
    path = tmp_path / f"plan-{n}.json"
    path.write_text(json.dumps({"tasks": tasks}))
    return path


def _data(reply):
    assert reply["status"] == "ok", reply
    return reply["data"]


def test_daemons_on_one_plan_each_hand_out_different_tasks_and_share_state(fleet, tmp_path):
    fleet.start(2)
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, 3)))
    first = _data(fleet.rpc(1, {"command": "task_claim", "worker_id": "w1"}))["task"]["id"]
    second = _data(fleet.rpc(0, {"command": "task_claim", "worker_id": "w0"}))["task"]["id"]
    assert {first, second} == {"t0", "t1"}
    _data(fleet.rpc(0, {"command": "task_complete", "task_id": first, "worker_id": "w1"}))
    status = fleet.cli(1, "status").stdout
    assert "1/3 completed, 1 running, 1 pending" in status
    # The fleet's log holds both daemons' events, whichever daemon's worktree asks.
    events = [json.loads(line) for line in fleet.cli(1, "log", "-n", "10").stdout.splitlines()]
    assert [(e["event"], e.get("worker_id")) for e in events if e["event"] != "daemon_start"][-3:] \
        == [("claim", "w1"), ("claim", "w0"), ("complete", "w1")]


def test_a_waiting_claim_is_woken_by_a_completion_on_another_daemon(fleet, tmp_path):
    fleet.start(2)
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, 2, chain_every=2)))
    _data(fleet.rpc(0, {"command": "task_claim", "worker_id": "a"}))
    waiting = {}
    waiter = threading.Thread(target=lambda: waiting.update(
        fleet.rpc(1, {"command": "task_claim", "worker_id": "b", "wait": 60})))
    waiter.start()
    # Once daemon 1 reports the parked claim, daemon 0 completes its dependency.
    from conftest import _wait_for
    _wait_for(lambda: _data(fleet.rpc(1, {"command": "status"})).get("waiting_claims") == 1)
    _data(fleet.rpc(0, {"command": "task_complete", "task_id": "t0", "worker_id": "a"}))
    waiter.join(60)
    # Only a notification from daemon 0 wakes it: no lease of this plan expires within the wait.
    assert _data(waiting)["task"]["id"] == "t1"


def test_clones_of_one_repository_share_a_plan_with_nothing_set(fleet, tmp_path, cluster):
    fleet.start(2, extra_env={"HARNESS_PLAN": None})
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, 1)))
    assert _data(fleet.rpc(1, {"command": "task_claim", "worker_id": "w"}))["task"]["id"] == "t0"


def test_hooks_read_the_plan_their_worktree_s_daemon_shares(fleet, tmp_path):
    fleet.start(2)
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, 2)))
    # Without the environment, a hook of the second worktree reads the store its daemon recorded.
    unset = {"HARNESS_STORE": None, "HARNESS_PLAN": None}
    state = fleet.cli(1, "check-state", check=False, env_extra=unset)
    assert state.returncode == 1 and "deny" in state.stdout, state.stdout + state.stderr
    assert "0/2" in fleet.cli(1, "session-start", env_extra=unset).stdout


def test_a_daemon_refuses_to_start_when_the_server_is_unreachable(tmp_path, git_worktree,
                                                                   socket_path, cli_env,
                                                                   harness_bin):
    env = cli_env(git_worktree, socket_path,
                  HARNESS_STORE=f"postgresql:///harness?host={tmp_path}/nowhere&user=harness")
    result = subprocess.run([harness_bin, "status"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "cannot connect to PostgreSQL" in result.stderr + result.stdout


class _Workers:
    """Workers draining the plan through a daemon each: claim, then complete with the lease.
    Records every acknowledged completion; a refused or failed request is only counted."""

    def __init__(self, fleet, assignment):
        self.fleet = fleet
        self.assignment = assignment  # worker id -> daemon index
        self.completed = []           # (task id, worker) of each acknowledged completion
        self.errors = 0
        self.lock = threading.Lock()
        self.stopped = set()          # workers whose daemon was killed: they died with it

    def run(self, worker):
        daemon = self.assignment[worker]
        while worker not in self.stopped:
            try:
                claim = self.fleet.rpc(daemon, {"command": "task_claim", "worker_id": worker,
                                                "wait": 5})
            except Exception:
                with self.lock:
                    self.errors += 1
                if worker in self.stopped:
                    return
                continue
            if claim["status"] != "ok":
                with self.lock:
                    self.errors += 1
                continue
            data = claim["data"]
            if not data.get("task"):
                if data.get("plan_complete"):
                    return
                continue
            task = data["task"]["id"]
            try:
                done = self.fleet.rpc(daemon, {"command": "task_complete", "task_id": task,
                                               "worker_id": worker, "lease": data["lease"]})
            except Exception:
                done = {"status": "error"}
            with self.lock:
                if done["status"] == "ok":
                    self.completed.append((task, worker))
                else:
                    self.errors += 1

    def start(self):
        self.threads = [threading.Thread(target=self.run, args=(w,)) for w in self.assignment]
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(300)
            assert not t.is_alive()


def _final_tasks(fleet, daemon):
    tasks = _data(fleet.rpc(daemon, {"command": "get_state"}))["tasks"]
    return tasks if isinstance(tasks, dict) else {t["id"]: t for t in tasks}


def _assert_each_completed_once(fleet, daemon, workers, n):
    tasks = _final_tasks(fleet, daemon)
    assert len(tasks) == n
    unfinished = [t for t in tasks.values() if t["status"] != "completed"]
    assert not unfinished, unfinished[:3]
    done = [task for task, _ in workers.completed]
    assert len(done) == len(set(done)), "a task was acknowledged complete twice"


def test_three_daemons_sixteen_workers_and_a_daemon_killed_mid_run(fleet, tmp_path, wait_for):
    n = max(500, int(10_000 * SCALE))
    daemons = fleet.start(3)
    # Short leases, so that the killed daemon's tasks are reclaimed through the others soon.
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, n, timeout=3, chain_every=50)))
    workers = _Workers(fleet, {f"w{i}": i % 3 for i in range(16)})
    workers.start()
    wait_for(lambda: len(workers.completed) >= n // 3, timeout=300)
    # Its workers die with it: what they held is reclaimed through the other daemons.
    workers.stopped |= {w for w, d in workers.assignment.items() if d == 2}
    os.kill(daemons[2]["process"].pid, signal.SIGKILL)
    workers.join()
    _assert_each_completed_once(fleet, 0, workers, n)
    reclaims = [json.loads(line) for line in fleet.cli(1, "log", "-n", str(4 * n)).stdout.splitlines()]
    assert any(e.get("is_reclaim") for e in reclaims if e["event"] == "claim")


def test_the_server_restarted_under_load_is_an_error_never_a_false_ok(fleet, tmp_path, cluster,
                                                                      wait_for):
    n = max(300, int(3_000 * SCALE))
    fleet.start(2)
    fleet.cli(0, "plan", "import", "-f", str(_plan_file(tmp_path, n, timeout=5)))
    workers = _Workers(fleet, {f"w{i}": i % 2 for i in range(8)})
    workers.start()
    wait_for(lambda: len(workers.completed) >= n // 4, timeout=300)
    cluster.restart()
    workers.join()
    # Requests during the outage failed; the daemons reconnected and the plan was drained.
    assert workers.errors > 0
    _assert_each_completed_once(fleet, 1, workers, n)
