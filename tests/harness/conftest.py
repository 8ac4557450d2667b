"""pytest set-up for the harness suite: the package under test is build/python, unless the
caller's PYTHONPATH already provides one (the sanitizer runs point it at their own build).

The fixtures the suites share: a git worktree, a socket path whose daemon is stopped when the
test ends, the harness binary, a daemon (the real binary, or HarnessDaemon in this process),
the environment for a CLI run, and waiting for a condition with a deadline."""

import contextlib
import importlib.util
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

_BUILD_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
# Prepending build/python unconditionally would shadow PYTHONPATH: `make test-tsan` after a
# `make build` would then test the uninstrumented module and report nothing.
if importlib.util.find_spec("harness") is None and os.path.isdir(_BUILD_PYTHON):
    sys.path.insert(0, os.path.abspath(_BUILD_PYTHON))

# A sanitizer run (make test-asan) preloads its runtime into this Python; the CLIs it starts
# with an environment of their own need it too.
SANITIZER_ENV = {k: v for k, v in os.environ.items()
                 if k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS")}

GIT = ["git", "-c", "user.name=harness-test", "-c", "user.email=test@localhost"]


def _wait_for(condition, timeout=10.0, interval=0.01):
    """Polls `condition` (another process's doing) until it holds; fails the test after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def _answers(socket_path):
    """Whether a daemon answers a ping on `socket_path`."""
    from harness.client import send_rpc

    try:
        return send_rpc(socket_path, {"command": "ping"})["status"] == "ok"
    except Exception:
        return False


def _stop_daemon(socket_path):
    """Shuts down a daemon answering on `socket_path` (one a test started, or one the CLI
    auto-spawned), then removes what is left at the path: the socket and its lock file."""
    from harness.client import send_rpc

    if os.path.exists(socket_path) and _answers(socket_path):
        send_rpc(socket_path, {"command": "shutdown"})
        _wait_for(lambda: not _answers(socket_path))
    for leftover in (socket_path, socket_path + ".lock"):
        # The daemon that just stopped may be removing its socket itself meanwhile.
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(leftover)


@pytest.fixture
def wait_for():
    """_wait_for(condition, timeout=10.0, interval=0.01)."""
    return _wait_for


@pytest.fixture
def answers():
    """_answers(socket_path): whether a daemon answers a ping there."""
    return _answers


@pytest.fixture
def stop_daemon():
    """_stop_daemon(socket_path): shuts down what answers there and removes the socket."""
    return _stop_daemon


@pytest.fixture(scope="session")
def harness_bin():
    """$HARNESS_BIN, else the harness binary of the build the package was imported from."""
    import harness

    return os.environ.get("HARNESS_BIN") or str(
        Path(harness.__file__).resolve().parents[2] / "bin" / "harness")


@pytest.fixture
def make_git_repo():
    """make(path): a new git repository at `path` with README.md committed ("initial") and
    a user configured in it (for `harness git commit`). Returns `path`."""

    def make(path, readme="hello\n"):
        path.mkdir()
        subprocess.run(GIT + ["init", "-q"], cwd=path, check=True)
        for key, value in (("user.name", "harness-test"), ("user.email", "test@localhost")):
            subprocess.run(["git", "config", key, value], cwd=path, check=True)
        (path / "README.md").write_text(readme)
        subprocess.run(GIT + ["add", "README.md"], cwd=path, check=True)
        subprocess.run(GIT + ["commit", "-q", "-m", "initial"], cwd=path, check=True)
        return path

    return make


@pytest.fixture
def git_worktree(tmp_path, make_git_repo):
    """make_git_repo(tmp_path / "repo")."""
    return make_git_repo(tmp_path / "repo")


@pytest.fixture
def make_socket_path():
    """make(): a short, unique socket path under /tmp (a sockaddr_un holds little more than
    100 bytes). When the test ends, a daemon answering on any of them is shut down and the
    socket removed (_stop_daemon)."""
    made = []

    def make():
        made.append(f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock")
        return made[-1]

    yield make
    for socket_path in made:
        _stop_daemon(socket_path)


@pytest.fixture
def socket_path(make_socket_path):
    """make_socket_path()."""
    return make_socket_path()


@pytest.fixture
def cli_env():
    """env(worktree, socket_path, **extra): the environment of a CLI run for that worktree
    and socket: PATH, this Python's package path (for `python -m harness`) and the sanitizer
    runtime; `extra` laid over it, a None value removing the variable."""

    def env(worktree, socket_path, **extra):
        python_path = os.pathsep.join(os.path.abspath(p) for p in sys.path if p and os.path.isdir(p))
        result = {
            "HARNESS_SOCKET": socket_path,
            "HARNESS_WORKTREE": str(worktree),
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": python_path,
            **SANITIZER_ENV,
        }
        result.update(extra)
        return {k: v for k, v in result.items() if v is not None}

    return env


@pytest.fixture
def binary_daemon(harness_bin):
    """start(env, *args): `harness daemon *args` (the real binary) with `env`, returned as a
    Popen once it answers on $HARNESS_SOCKET. Stopped with SIGTERM when the test ends."""
    started = []

    def start(env, *args):
        daemon = subprocess.Popen([harness_bin, "daemon", *args], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(daemon)
        _wait_for(lambda: daemon.poll() is not None or _answers(env["HARNESS_SOCKET"]))
        assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
        return daemon

    yield start
    for daemon in started:
        daemon.terminate()
        daemon.wait(30)


@pytest.fixture
def embedded_daemon():
    """start(socket_path, worktree): a HarnessDaemon serving in a thread of this process.
    Shut down when the test ends."""
    from harness.daemon import HarnessDaemon

    started = []

    def start(socket_path, worktree):
        daemon = HarnessDaemon(socket_path, str(worktree))
        thread = threading.Thread(target=daemon.serve_forever, daemon=True)
        thread.start()
        started.append((daemon, thread))
        return daemon

    yield start
    for daemon, thread in started:
        daemon.shutdown()
        thread.join(timeout=5)
