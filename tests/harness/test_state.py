"""Where state lives, and which daemon a client talks to (issue 13, items 3, 13 and 14), through
the CLI as an agent types it: git commands that delete untracked and ignored files under a
running daemon, a database deleted or replaced under it, two daemons for one worktree, a daemon
of another worktree on the socket, and socket paths that are not sockets."""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from harness.client import send_rpc
from harness.daemon import HarnessDaemon
from harness.state import StateManager, Task, WorkflowState

GIT = ["git", "-c", "user.name=harness-test", "-c", "user.email=test@localhost"]
PLAN = {"tasks": {"a": {"id": "a"}, "b": {"id": "b", "dependencies": ["a"]}, "c": {"id": "c"}}}


class Harness:
    """The CLI for one worktree and socket, plus cleanup of every daemon it may have started."""

    def __init__(self, worktree, socket_path, tmp_path, cli_env, stop_daemon, wait_for):
        self.worktree = Path(worktree)
        self.socket = socket_path
        self.tmp = tmp_path
        self.sockets = {socket_path}
        self.cli_env = cli_env
        self.stop_daemon = stop_daemon
        self.wait_for = wait_for

    def env(self, **extra):
        env = self.cli_env(self.worktree, self.socket, **{"HARNESS_WORKER_ID": "w1", "HOME": str(self.tmp),
                                                          **extra})
        if env.get("HARNESS_SOCKET"):
            self.sockets.add(env["HARNESS_SOCKET"])
        return env

    def run(self, *args, cwd=None, **extra):
        return subprocess.run(
            [sys.executable, "-m", "harness", *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            cwd=cwd or self.worktree,
            timeout=120,
        )

    def ok(self, *args, **extra):
        result = self.run(*args, **extra)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def import_plan(self):
        plan = self.tmp / f"plan-{uuid.uuid4().hex[:6]}.json"
        plan.write_text(json.dumps(PLAN))
        self.ok("plan", "import", "--file", str(plan))

    def state(self):
        return json.loads(self.ok("get-state").stdout)["tasks"]

    def daemon_pid(self, socket_path=None):
        return send_rpc(socket_path or self.socket, {"command": "ping"})["data"]["pid"]

    def stop_all(self):
        for socket_path in self.sockets:
            self.stop_daemon(socket_path)


@pytest.fixture
def make_harness(tmp_path, make_socket_path, cli_env, stop_daemon, wait_for):
    """make(worktree, socket_path=None): a Harness, on a fresh socket unless one is given;
    its daemons are stopped when the test ends."""
    made = []

    def make(worktree, socket_path=None):
        made.append(Harness(worktree, socket_path or make_socket_path(), tmp_path, cli_env, stop_daemon,
                            wait_for))
        return made[-1]

    yield make
    for h in made:
        h.stop_all()


@pytest.fixture
def harness(tmp_path, make_git_repo, make_harness):
    return make_harness(make_git_repo(tmp_path / "repo", readme="x\n"))


def _pid_gone(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True


def _restart(h):
    """Stops the daemon and waits for its process to end, so that the next call starts anew."""
    pid = h.daemon_pid()
    assert h.ok("shutdown").stdout.strip() == "Shutdown requested"
    h.wait_for(lambda: _pid_gone(pid))


# ---- item 3: state that no git command can remove -----------------------------------------------


@pytest.mark.parametrize(
    "wipe",
    [
        ["git", "clean", "-fdx"],
        ["git", "stash", "--all"],
        ["harness", "git", "--", "clean", "-fdx"],
        ["harness", "git", "--", "stash", "--all"],
    ],
    ids=["git-clean", "git-stash-all", "harness-git-clean", "harness-git-stash-all"],
)
def test_git_commands_that_delete_ignored_files_keep_every_acknowledged_change(harness, wipe):
    harness.import_plan()
    claimed = json.loads(harness.ok("task", "claim").stdout)
    assert claimed["data"]["task"]["id"] == "a"
    (harness.worktree / "scratch.txt").write_text("untracked work\n")  # so stash has work to take

    if wipe[0] == "git":
        subprocess.run(GIT + wipe[1:], cwd=harness.worktree, check=True, capture_output=True)
    else:
        harness.ok(*wipe[1:])
    assert not (harness.worktree / "scratch.txt").exists()  # the command did delete files

    assert json.loads(harness.ok("task", "complete", "--id", "a").stdout)["status"] == "ok"
    assert json.loads(harness.ok("task", "claim").stdout)["data"]["task"]["id"] == "b"
    _restart(harness)

    tasks = harness.state()  # a new daemon, from what is on disk
    assert tasks["a"]["status"] == "completed"
    assert tasks["b"]["status"] == "running" and tasks["b"]["claimed_by"] == "w1"
    assert not (harness.worktree / ".harness").exists()
    assert (Path(harness.worktree) / ".git" / "harness" / "state.db").exists()
    log = harness.ok("log", "-n", "50").stdout
    assert '"task_id":"a"' in log.replace(" ", "")  # the trajectory survived too


def test_state_of_a_linked_worktree_lives_in_its_own_git_directory(harness, tmp_path, make_harness):
    linked = tmp_path / "linked"
    subprocess.run(GIT + ["worktree", "add", "-q", str(linked)], cwd=harness.worktree, check=True)
    h = make_harness(linked)
    try:
        h.import_plan()
        subprocess.run(GIT + ["clean", "-fdx"], cwd=linked, check=True, capture_output=True)
        _restart(h)
        assert set(h.state()) == {"a", "b", "c"}
        git_dir = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir"], cwd=linked, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert (Path(git_dir) / "harness" / "state.db").exists()
        assert not (harness.worktree / ".git" / "harness" / "state.db").exists()  # not shared
    finally:
        h.stop_all()


def test_a_harness_directory_of_an_earlier_version_is_moved_once(tmp_path, make_harness):
    # State made outside git sits in W/.harness; once W is a repository it moves to .git/harness.
    worktree = tmp_path / "w"
    worktree.mkdir()
    StateManager(worktree).save(WorkflowState(tasks={"a": Task(id="a")}))
    assert (worktree / ".harness" / "state.db").exists()
    subprocess.run(GIT + ["init", "-q"], cwd=worktree, check=True)

    h = make_harness(worktree)
    try:
        assert set(h.state()) == {"a"}  # the daemon moved it and serves it
        assert not (worktree / ".harness").exists()
        assert (worktree / ".git" / "harness" / "state.db").exists()
        assert set(StateManager(worktree).load().tasks) == {"a"}
    finally:
        h.stop_all()


def test_state_in_both_places_is_refused_and_nothing_is_lost(tmp_path, make_harness):
    worktree = tmp_path / "w"
    worktree.mkdir()
    StateManager(worktree).save(WorkflowState(tasks={"old": Task(id="old")}))
    subprocess.run(GIT + ["init", "-q"], cwd=worktree, check=True)
    (worktree / "keep").mkdir()
    shutil.move(str(worktree / ".harness"), str(worktree / "keep" / ".harness"))
    StateManager(worktree).save(WorkflowState(tasks={"new": Task(id="new")}))  # in .git/harness
    shutil.move(str(worktree / "keep" / ".harness"), str(worktree / ".harness"))

    h = make_harness(worktree)
    try:
        for args in (["get-state"], ["session-start"]):
            result = h.run(*args)
            assert result.returncode == 1
            assert "state exists in two places" in result.stderr, result.stderr
            assert str(worktree / ".harness") in result.stderr
        with pytest.raises(Exception, match="two places"):
            StateManager(worktree).load()
        assert (worktree / ".harness" / "state.db").exists()
        assert (worktree / ".git" / "harness" / "state.db").exists()
    finally:
        h.stop_all()


def _workflow_in_plain_directory(tmp_path, make_harness):
    """A worktree outside git (state in W/.harness) with a daemon serving a claimed task."""
    worktree = tmp_path / "plain"
    worktree.mkdir()
    h = make_harness(worktree)
    h.import_plan()
    assert json.loads(h.ok("task", "claim").stdout)["data"]["task"]["id"] == "a"
    return h


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_deleted_or_replaced_under_the_daemon_refuses_writes(tmp_path, how, make_harness):
    h = _workflow_in_plain_directory(tmp_path, make_harness)
    try:
        state = h.worktree / ".harness"
        db = state / "state.db"
        if how == "deleted":
            shutil.rmtree(state)  # what `git clean -fdx` did to W/.harness
        else:
            shutil.copy(db, tmp_path / "copy.db")
            os.replace(tmp_path / "copy.db", db)

        for args in (["task", "complete", "--id", "a"], ["task", "claim"]):
            result = h.run(*args, HARNESS_WORKER_ID="w2" if args[1] == "claim" else "w1")
            assert result.returncode == 1, result.stdout
            reply = json.loads(result.stdout)
            assert reply["status"] == "error"
            assert f"{db} was {how}" in reply["message"]
            assert "harness shutdown" in reply["message"]  # how to recover
        assert h.ok("ping").stdout.strip() == "ok"  # reads and pings go on
        # A refused change shows nowhere: not in reads now, not after a restart.
        assert json.loads(h.ok("get-state").stdout)["tasks"]["a"]["status"] == "running"
        if how == "replaced":
            log = (state / "daemon.log").read_text()
            assert f"{db} was replaced" in log
            h.ok("shutdown")
            assert json.loads(h.ok("get-state").stdout)["tasks"]["a"]["status"] == "running"
    finally:
        h.stop_all()


# ---- item 13: one daemon per worktree, and only the worktree's own daemon ----------------------


def test_a_second_daemon_for_the_same_worktree_on_another_socket_is_refused(harness, make_socket_path):
    assert harness.ok("ping").stdout.strip() == "ok"
    other = make_socket_path()
    second = harness.run("daemon", "--socket", other)
    assert second.returncode != 0
    assert "Another daemon is already running" in second.stderr
    assert harness.socket in second.stderr  # names the socket the first one serves
    assert not os.path.exists(other)

    # A client looking on the other socket is told where the worktree's daemon is.
    client = harness.run("status", HARNESS_SOCKET=other)
    assert client.returncode == 1
    assert "already serves" in client.stderr and harness.socket in client.stderr, client.stderr
    assert f"HARNESS_SOCKET={harness.socket} harness shutdown" in client.stderr
    assert not os.path.exists(other)

    # Also from Python, and with XDG_RUNTIME_DIR choosing the default socket.
    with pytest.raises(Exception, match="already running"):
        HarnessDaemon(other, str(harness.worktree))
    runtime = harness.tmp / "runtime"
    runtime.mkdir()
    by_default = harness.run("ping", HARNESS_SOCKET=None, XDG_RUNTIME_DIR=str(runtime))
    assert by_default.returncode == 1
    assert "already serves" in by_default.stderr


def test_the_client_refuses_a_daemon_that_serves_another_worktree(harness, tmp_path, make_git_repo, make_harness,
                                                                  answers):
    harness.import_plan()
    before = harness.state()
    elsewhere = make_harness(make_git_repo(tmp_path / "elsewhere", readme="x\n"), harness.socket)

    for args in (["task", "claim"], ["ping"], ["status"], ["shutdown"], ["get-state"]):
        result = elsewhere.run(*args)
        assert result.returncode != 0, (args, result.stdout)
        assert f"serves {harness.worktree}, not this worktree ({elsewhere.worktree})" in result.stderr
    assert harness.state() == before  # nothing reached it
    assert answers(harness.socket)

    # Nor does a daemon for the other worktree take that socket over.
    taken = elsewhere.run("daemon")
    assert taken.returncode != 0
    assert f"Another daemon is already running on socket {harness.socket}" in taken.stderr
    assert harness.state() == before

    # Told otherwise, it talks to that daemon.
    flag = elsewhere.run("--any-worktree", "status")
    assert flag.returncode == 0, flag.stderr
    env = elsewhere.run("status", HARNESS_ANY_WORKTREE="1")
    assert env.returncode == 0, env.stderr

    # Python: with a worktree the same check, without one none (the acceptance flows' usage).
    with pytest.raises(Exception, match="not this worktree"):
        send_rpc(harness.socket, {"command": "get_state"}, worktree_root=elsewhere.worktree)
    assert send_rpc(harness.socket, {"command": "get_state"})["status"] == "ok"


# ---- item 14: socket paths --------------------------------------------------------------------


def test_a_file_at_the_socket_path_is_never_deleted(harness, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    result = harness.run("ping", HARNESS_SOCKET=str(notes), HARNESS_TIMEOUT="60")
    assert result.returncode == 1
    assert "is a regular file" in result.stderr and "never replaces it" in result.stderr
    assert notes.read_text() == "my notes\n"

    # The daemon itself refuses too, when started by hand on it.
    daemon = harness.run("daemon", "--socket", str(notes))
    assert daemon.returncode != 0
    assert "not a socket" in daemon.stderr
    assert notes.read_text() == "my notes\n"


def test_a_directory_at_the_socket_path_is_reported_at_once(harness, tmp_path):
    directory = tmp_path / "a-directory"
    directory.mkdir()
    result = harness.run("ping", HARNESS_SOCKET=str(directory), HARNESS_TIMEOUT="60")
    assert result.returncode == 1
    # Said at once: not "did not start within 60000 ms" nor "Address already in use".
    assert "is a directory" in result.stderr, result.stderr
    assert directory.is_dir()


def test_a_deleted_socket_is_made_again_by_the_daemon(harness):
    assert harness.ok("ping").stdout.strip() == "ok"
    pid = harness.daemon_pid()
    os.unlink(harness.socket)
    harness.wait_for(lambda: os.path.exists(harness.socket))
    assert harness.daemon_pid() == pid
    # Whether or not the daemon made it again yet, clients reach it (they wait for it).
    os.unlink(harness.socket)
    assert harness.ok("ping").stdout.strip() == "ok"
    assert harness.daemon_pid() == pid
    os.unlink(harness.socket)
    assert harness.ok("shutdown").stdout.strip() == "Shutdown requested"
    harness.wait_for(lambda: _pid_gone(pid))


def test_a_socket_taken_over_by_another_file_stops_the_daemon_without_deleting_it(harness):
    assert harness.ok("ping").stdout.strip() == "ok"
    pid = harness.daemon_pid()
    os.unlink(harness.socket)
    Path(harness.socket).write_text("someone else's file\n")
    harness.wait_for(lambda: _pid_gone(pid))  # it releases the worktree for a new daemon
    assert Path(harness.socket).read_text() == "someone else's file\n"
    os.unlink(harness.socket)
    assert harness.ok("ping").stdout.strip() == "ok"


def test_a_daemon_that_exits_at_once_is_reported_with_its_log(harness):
    git_dir = harness.worktree / ".git" / "harness"
    git_dir.mkdir(mode=0o700)
    (git_dir / "state.db").write_bytes(b"this is not a database" * 100)
    result = harness.run("ping", HARNESS_TIMEOUT="60")
    assert result.returncode == 1
    assert "exited before it started serving" in result.stderr, result.stderr
    assert "state.db" in result.stderr  # the daemon's own reason, from daemon.log
    assert "did not start within" not in result.stderr


def test_a_directory_inside_the_repository_means_the_repository(harness):
    """HARNESS_WORKTREE naming a subdirectory gave a daemon that locked the repository's state
    but served the subdirectory: every client of the repository was then refused, in a loop."""
    runtime = tempfile.mkdtemp(prefix="hsx-", dir="/tmp")
    sockets = os.path.join(runtime, "harness-" + pwd.getpwuid(os.geteuid()).pw_name)
    (harness.worktree / "sub").mkdir()
    env = {"HARNESS_SOCKET": None, "XDG_RUNTIME_DIR": runtime}
    try:
        harness.ok("ping", HARNESS_WORKTREE=str(harness.worktree / "sub"), **env)
        [socket_name] = os.listdir(sockets)
        served = send_rpc(os.path.join(sockets, socket_name), {"command": "ping"})["data"]
        assert served["worktree"] == str(harness.worktree)
        # Every way of naming the repository reaches that one daemon.
        harness.ok("ping", HARNESS_WORKTREE=None, cwd=harness.worktree / "sub", **env)
        harness.ok("ping", HARNESS_WORKTREE=None, **env)
        harness.ok("exec", "--", "true", **env)
        assert os.listdir(sockets) == [socket_name]
    finally:
        harness.run("shutdown", **env)
        shutil.rmtree(runtime, ignore_errors=True)
