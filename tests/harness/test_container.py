"""The container runtime (DESIGN §8c; README "Running commands in a container"): with
HARNESS_CONTAINER_ID (or `harness daemon --container`), exec and git run through `docker exec`.

No Docker engine runs on the test machines: these tests put a stand-in `docker` first on PATH
(tests/harness/fakes/docker), which runs each command on this machine in a session of its own
under a mapped root, and logs every argv it is given. What they prove: the argv harness gives
docker (-w mapped, -e, --user, no -i), that the command sees the mapped directory and the
passed environment, that a timeout kills the command *inside* (through a second `docker exec`,
since killing the client leaves the command running, in the stand-in as in Docker), the reply's
signal, 127 for a program the container lacks, and the start-up checks. What they cannot prove:
how a real Docker engine and image behave (docker's own exit statuses and messages are
assumed as documented; the stand-in imitates them)."""

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import GIT, SANITIZER_ENV, _stop_daemon, _wait_for

FAKES = Path(__file__).resolve().parent / "fakes"


def _make_repo(path):
    path.mkdir(parents=True)
    subprocess.run(GIT + ["init", "-q"], cwd=path, check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run(GIT + ["add", "README.md"], cwd=path, check=True)
    subprocess.run(GIT + ["commit", "-q", "-m", "initial"], cwd=path, check=True)
    return path


def _alive(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _environment(base, socket_path, **extra):
    env = {
        "PATH": f"{FAKES}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "HARNESS_SOCKET": socket_path,
        "HARNESS_WORKER_ID": "w1",
        "HARNESS_CONTAINER_ID": "box-1",
        "HARNESS_HOST_ROOT": str(base / "host"),
        "HARNESS_CONTAINER_ROOT": "/ws",
        "FAKE_DOCKER_ROOT": str(base / "root"),
        "FAKE_DOCKER_LOG": str(base / "docker.log"),
        **SANITIZER_ENV,
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture(scope="module")
def box(tmp_path_factory, harness_bin):
    """A repository under a host root the stand-in container sees as /ws, and a daemon (started
    by the first CLI call) running its commands in container box-1."""
    base = tmp_path_factory.mktemp("box")
    repo = _make_repo(base / "host" / "repo")
    (base / "root").mkdir()
    (base / "root" / "ws").symlink_to(base / "host")
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"
    env = _environment(base, socket_path)

    def run(*args, cwd=repo, **extra):
        return subprocess.run([harness_bin, *args], env={**env, **extra}, cwd=cwd,
                              capture_output=True, text=True, timeout=60)

    def calls():
        log = base / "docker.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def last_exec():
        return [c for c in calls() if c[0] == "exec" and "harness-kill" not in c][-1]

    yield SimpleNamespace(base=base, repo=repo, run=run, calls=calls, last_exec=last_exec)
    _stop_daemon(socket_path)


def _reply(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["data"]


def test_the_daemon_checks_the_runtime_when_it_starts(box):
    assert box.run("ping").returncode == 0
    verbs = [c[0] for c in box.calls()]
    assert verbs[:2] == ["info", "inspect"], verbs
    assert box.calls()[1] == ["inspect", "-f", "{{.State.Running}}", "box-1"]


def test_exec_runs_in_the_container_in_the_mapped_cwd_with_env_and_user(box):
    sub = box.repo / "sub"
    sub.mkdir()
    data = _reply(box.run("exec", "-e", "FOO=bar baz", "--", "sh", "-c",
                          'echo "$FOO"; echo "$HOME"; pwd -P; cat; echo end', cwd=sub))
    assert data["returncode"] == 0, data
    # FOO came with -e; HOME is the container's, not the caller's; stdin is closed (cat ends).
    assert data["stdout"].splitlines() == ["bar baz", "/", str(sub.resolve()), "end"]
    argv = box.last_exec()
    assert argv[:3] == ["exec", "-w", "/ws/repo/sub"]
    assert "-i" not in argv and "--interactive" not in argv
    env = {argv[i + 1].split("=", 1)[0]: argv[i + 1].split("=", 1)[1]
           for i, a in enumerate(argv) if a == "-e"}
    assert env["FOO"] == "bar baz"
    assert env["HARNESS_WORKER_ID"] == "w1"
    assert "PATH" not in env and "HOME" not in env  # the container's own apply
    user = argv[argv.index("--user") + 1]
    assert user == f"{os.geteuid()}:{os.getegid()}"
    container = argv.index("--user") + 2
    assert argv[container] == "box-1"
    # Under the launcher (`sh -c LAUNCHER harness ARGV...`), the command's argv as given.
    assert argv[container + 1:container + 3] == ["sh", "-c"]
    assert argv[container + 4:] == ["harness", "sh", "-c",
                                    'echo "$FOO"; echo "$HOME"; pwd -P; cat; echo end']


def test_git_runs_in_the_container_too(box):
    result = box.run("git", "--", "rev-parse", "--is-inside-work-tree")
    assert (result.returncode, result.stdout) == (0, "true\n"), result.stderr
    argv = box.last_exec()
    assert argv[:3] == ["exec", "-w", "/ws/repo"]
    assert argv[-3:] == ["git", "rev-parse", "--is-inside-work-tree"]
    assert "GIT_TERMINAL_PROMPT=0" in argv


def test_a_program_the_container_lacks_is_127_as_locally(box):
    data = _reply(box.run("exec", "--", "no-such-program-here", "x"))
    assert data["returncode"] == 127
    assert "cannot run 'no-such-program-here'" in data["stderr"]


def test_a_cwd_outside_the_host_root_is_refused_clearly(box):
    data = _reply(box.run("exec", "--cwd", str(box.base), "--", "true"))
    assert data["returncode"] == 127
    assert "outside HARNESS_HOST_ROOT" in data["stderr"] and "box-1" in data["stderr"]


def test_a_timeout_kills_the_command_inside_the_container(box):
    pids = box.base / "term-pids"
    ticks = box.base / "ticks"
    script = (f"echo $$ >> {pids}; sleep 300 & echo $! >> {pids}; "
              f"while :; do echo tick >> {ticks}; sleep 0.05; done")
    data = _reply(box.run("exec", "--timeout", "0.3", "--", "sh", "-c", script))
    assert (data["returncode"], data.get("signal_name"), data["timed_out"]) == (-15, "SIGTERM", True)
    kills = [c for c in box.calls() if "harness-kill" in c]
    assert kills and kills[-1][-1] == "TERM" and "box-1" in kills[-1]
    # The shell and what it left in the background were killed in the container, not only
    # the docker client: both are gone and the ticks stop.
    shell, background = (int(p) for p in pids.read_text().split())
    _wait_for(lambda: not _alive(shell) and not _alive(background))
    before = ticks.read_text()
    assert box.run("exec", "--", "true").returncode == 0  # a round trip later: still no tick
    assert ticks.read_text() == before


def test_a_command_that_ignores_sigterm_is_killed_with_sigkill(box):
    pid_file = box.base / "stubborn-pid"
    script = f"trap '' TERM; echo $$ > {pid_file}; while :; do sleep 0.05; done"
    data = _reply(box.run("exec", "--timeout", "0.3", "--", "sh", "-c", script))
    assert (data["returncode"], data.get("signal_name"), data["timed_out"]) == (-9, "SIGKILL", True)
    assert [c[-1] for c in box.calls() if "harness-kill" in c][-2:] == ["TERM", "KILL"]
    _wait_for(lambda: not _alive(int(pid_file.read_text())))


@pytest.mark.parametrize("broken, message", [
    ({"FAKE_DOCKER_STATE": "stopped"}, "it is not running"),
    ({"FAKE_DOCKER_STATE": "missing"}, "No such object: box-1"),
    ({"FAKE_DOCKER_INFO": "Is the docker daemon running?"}, "`docker info` failed"),
    ({"HARNESS_HOST_ROOT": "/somewhere", "HARNESS_CONTAINER_ROOT": None}, "go together"),
])
def test_the_daemon_refuses_to_start_when_the_runtime_is_unusable(tmp_path, harness_bin,
                                                                  broken, message):
    repo = _make_repo(tmp_path / "host" / "repo")
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"
    env = _environment(tmp_path, socket_path, **broken)
    try:
        # The auto-spawning client shows why the daemon did not start.
        client = subprocess.run([harness_bin, "ping"], env=env, cwd=repo, capture_output=True,
                                text=True, timeout=60)
        assert client.returncode == 1 and message in client.stderr, client.stderr
        assert "box-1" in client.stderr or "HARNESS_HOST_ROOT" in client.stderr
        if "FAKE_DOCKER_STATE" in broken and broken["FAKE_DOCKER_STATE"] == "stopped":
            # As does a daemon started by hand.
            daemon = subprocess.run([harness_bin, "daemon"], env=env, cwd=repo,
                                    capture_output=True, text=True, timeout=60)
            assert daemon.returncode == 1 and message in daemon.stderr
    finally:
        _stop_daemon(socket_path)


@pytest.mark.skipif(shutil.which("docker", path="/usr/bin:/bin") is not None,
                    reason="a real docker is installed")
def test_the_daemon_refuses_to_start_without_docker(tmp_path, harness_bin):
    repo = _make_repo(tmp_path / "host" / "repo")
    env = _environment(tmp_path, f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock",
                       PATH="/usr/bin:/bin")
    daemon = subprocess.run([harness_bin, "daemon"], env=env, cwd=repo, capture_output=True,
                            text=True, timeout=60)
    assert daemon.returncode == 1
    assert "`docker` is not on the daemon's PATH" in daemon.stderr


def test_the_container_flag_of_the_daemon(tmp_path, harness_bin, binary_daemon):
    repo = _make_repo(tmp_path / "host" / "repo")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "ws").symlink_to(tmp_path / "host")
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"
    env = _environment(tmp_path, socket_path, HARNESS_CONTAINER_ID=None, HARNESS_WORKTREE=str(repo))
    try:
        binary_daemon(env, "--container", "box-2")
        data = _reply(subprocess.run([harness_bin, "exec", "--", "echo", "hi"], env=env, cwd=repo,
                                     capture_output=True, text=True, timeout=60))
        assert data["stdout"] == "hi\n"
        log = [json.loads(line) for line in (tmp_path / "docker.log").read_text().splitlines()]
        assert log[-1][log[-1].index("--user") + 2] == "box-2"
    finally:
        _stop_daemon(socket_path)


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client installed")
def test_a_real_docker_client_without_an_engine_is_refused(tmp_path, harness_bin):
    """The one check made with the real docker CLI: on these machines it is installed but no
    engine answers, so `docker info` fails and the daemon says so."""
    repo = _make_repo(tmp_path / "host" / "repo")
    env = _environment(tmp_path, f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock",
                       PATH=os.environ.get("PATH", ""), DOCKER_HOST="unix:///nonexistent.sock")
    daemon = subprocess.run([harness_bin, "daemon"], env=env, cwd=repo, capture_output=True,
                            text=True, timeout=60)
    assert daemon.returncode == 1
    assert "`docker info` failed" in daemon.stderr and "box-1" in daemon.stderr
