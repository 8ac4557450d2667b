"""`harness exec` and `harness git` as an agent types them (issue 13, items 5, 6, 8, 11, 12, 16,
17, 18): the real CLI binary in a subprocess, against a daemon it starts itself."""

import base64
import json
import os
import signal
import stat
import subprocess

import pytest

from harness.client import send_rpc

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@localhost",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@localhost",
}


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


class Repo:
    def __init__(self, path, sock, harness_bin, wait_for):
        self.path = path
        self.socket = sock
        self.bin = harness_bin
        self.wait_for = wait_for

    def env(self, **extra):
        env = {
            "HARNESS_SOCKET": self.socket,
            "HARNESS_WORKTREE": str(self.path),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **GIT_IDENTITY,
        }
        env.update(extra)
        return env

    def run(self, args, env=None, text=True, **kw):
        return subprocess.run(
            [self.bin, *args],
            capture_output=True,
            text=text,
            env=env or self.env(),
            cwd=self.path,
            timeout=60,
            **kw,
        )

    def rpc(self, request):
        return send_rpc(self.socket, request)


@pytest.fixture
def repo(git_worktree, socket_path, harness_bin, wait_for):
    """A git worktree with README.md committed; the daemon the CLI starts for it is stopped
    when the test ends (conftest's socket_path)."""
    return Repo(git_worktree, socket_path, harness_bin, wait_for)


def _data(result):
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["status"] == "ok", reply
    return reply["data"]


# ---- item 5: everything after -- is the command ----------------------------------------------


@pytest.mark.parametrize("env_option", [["-e", "FOO=1"], ["--env", "FOO=1"], ["-eFOO=1"], ["--env=FOO=1"]])
def test_options_after_the_dashes_belong_to_the_command(repo, env_option):
    result = repo.run(["exec", *env_option, "--", "sh", "-c", "echo $FOO"])
    assert _data(result)["stdout"] == "1\n"


def test_every_option_like_word_after_the_dashes_is_passed_on(repo):
    words = ["-c", "-e", "--env", "--timeout", "--", "-x=1", "--help"]
    data = _data(repo.run(["exec", "--", "printf", "%s|", *words]))
    assert data["stdout"] == "|".join(words) + "|"


def test_git_arguments_after_the_dashes_are_gits(repo):
    result = repo.run(["git", "--", "log", "-1", "--format=%s", "--", "README.md"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "initial\n"
    assert repo.run(["git", "status"]).returncode == 0  # still works without --


def test_git_options_without_dashes_get_a_hint(repo):
    result = repo.run(["git", "log", "--oneline"])
    assert result.returncode == 2
    assert "harness git [OPTIONS] -- ARGS" in result.stderr


# ---- item 6: no editor, a git timeout -----------------------------------------------------------


@pytest.mark.parametrize("args", [["commit", "--allow-empty"], ["commit", "--allow-empty", "-e", "-m", "x"], ["tag", "-a", "v1"]])
def test_git_that_wants_an_editor_fails_at_once(repo, args):
    result = repo.run(["git", "--", *args])  # would wait 600 s for an editor before the fix
    assert result.returncode != 0
    assert "editor" in result.stderr


def test_git_timeout_stops_git_and_says_so(repo):
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexec sleep 60\n")
    hook.chmod(0o755)
    result = repo.run(["git", "--timeout", "0.5", "--", "commit", "--allow-empty", "-m", "x"])
    assert result.returncode == 128 + signal.SIGTERM
    assert "timed out" in result.stderr
    assert repo.run(["git", "--", "status"]).returncode == 0  # the mutex is free again


# ---- item 8: the caller's environment, not the daemon's ----------------------------------------


def test_commands_run_with_the_callers_environment(repo, tmp_path):
    # The first client starts the daemon with a poisonous environment.
    first = repo.env(HARNESS_WORKER_ID="first", GIT_DIR="/nonexistent", FIRST_ONLY="1")
    assert repo.run(["exec", "--", "true"], env=first).returncode == 0

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "only-on-my-path"
    tool.write_text("#!/bin/sh\necho found\n")
    tool.chmod(0o755)
    second = repo.env(
        HARNESS_WORKER_ID="second",
        PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        GIT_AUTHOR_NAME="Second Agent",
    )
    data = _data(repo.run(["exec", "--", "sh", "-c", 'echo "$HARNESS_WORKER_ID|$FIRST_ONLY|$GIT_DIR"'], env=second))
    assert data["stdout"] == "second||\n"
    assert _data(repo.run(["exec", "--", "only-on-my-path"], env=second))["stdout"] == "found\n"

    assert repo.run(["git", "--", "status"], env=second).returncode == 0
    # An old client's partial env is merged over the daemon's, less GIT_DIR and the like.
    legacy = repo.rpc({"command": "git", "args": ["status", "--short"], "cwd": str(repo.path)})
    assert legacy["data"]["returncode"] == 0, legacy
    commit = repo.run(["git", "--", "commit", "-q", "--allow-empty", "-m", "mine"], env=second)
    assert commit.returncode == 0, commit.stderr
    author = repo.run(["git", "--", "log", "-1", "--format=%an"], env=second)
    assert author.stdout == "Second Agent\n"


def test_a_complete_git_environment_may_not_pick_the_repository_or_programs(repo):
    repo.run(["ping"])
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_SSH_COMMAND", "GIT_CONFIG_PARAMETERS", "LD_PRELOAD"):
        reply = repo.rpc({"command": "git", "args": ["status"], "env": {"PATH": os.environ["PATH"], name: "x"}, "env_complete": True})
        assert reply["status"] == "error", name
        assert name in reply["message"]
    reply = repo.rpc({"command": "exec", "args": ["env"], "env": {"ONLY": "this"}, "env_complete": True})
    assert reply["data"]["stdout"] == "ONLY=this\n"


# ---- item 11: no writes inside the git directory ------------------------------------------------


REFUSED = [
    ["checkout-index", "-f", "--prefix=.git/", "--", "config"],
    ["checkout-index", "-f", "--pre=.git/", "--", "config"],
    ["checkout-index", "-f", "--prefix=sub/../.git/hooks/", "--", "config"],
    ["archive", "-o", ".git/config", "HEAD"],
    ["archive", "-o.git/config", "HEAD"],
    ["archive", "--output=.git/hooks/post-checkout", "HEAD"],
    ["bundle", "create", ".git/config", "HEAD"],
    ["format-patch", "-o", ".git/hooks", "HEAD"],
    ["format-patch", "--output-directory=.git", "HEAD"],
    ["read-tree", "--prefix=.git/", "-u", "HEAD"],
    ["apply", "--directory=.git", "x.patch"],
    ["worktree", "add", ".git/wt"],
    ["clone", ".", ".git/clone"],
    ["init", ".git/inner"],
    ["bugreport", "-o", ".git"],
    ["-C", ".git", "status"],
    ["-C", ".git/hooks", "log"],
    ["--work-tree=.git", "checkout", "-f"],
    ["--git-dir=/tmp", "status"],
    ["archive", "-o", "link-to-git/config", "HEAD"],
    ["log", "--output=out.txt"],
]


@pytest.mark.parametrize("args", REFUSED, ids=" ".join)
def test_git_may_not_write_inside_the_git_directory(repo, args):
    (repo.path / "link-to-git").symlink_to(".git")
    config = (repo.path / ".git" / "config").read_bytes()
    result = repo.run(["git", "--", *args])
    assert result.returncode == 1
    assert "is not allowed" in result.stderr
    assert (repo.path / ".git" / "config").read_bytes() == config


LOOK_ALIKES = [
    ["archive", "-o", "out.tar", "HEAD"],
    ["archive", "--output=build/out.tar", "HEAD"],
    ["checkout-index", "--prefix=build/", "-a"],
    ["checkout-index", "--prefix=.git-copy/", "-a"],
    ["bundle", "create", "repo.bundle", "HEAD"],
    ["format-patch", "-o", "patches", "HEAD"],
    ["--git-dir=.git", "status"],
    ["-C", ".", "status"],
    ["worktree", "add", "../wt-elsewhere"],
    ["log", "-1", "--", ".git"],
]


@pytest.mark.parametrize("args", LOOK_ALIKES, ids=" ".join)
def test_legitimate_look_alikes_still_run(repo, args):
    (repo.path / "build").mkdir()
    result = repo.run(["git", "--", *args])
    assert result.returncode == 0, result.stderr


def test_the_fsmonitor_exploit_is_closed(repo, tmp_path):
    marker = tmp_path / "git-ran-a-program"
    (repo.path / "config").write_text(f"[core]\n\tfsmonitor = touch {marker}\n")
    assert repo.run(["git", "--", "add", "config"]).returncode == 0
    assert repo.run(["git", "--", "commit", "-q", "-m", "cfg"]).returncode == 0
    assert repo.run(["git", "--", "checkout-index", "-f", "--prefix=.git/", "--", "config"]).returncode == 1
    repo.run(["git", "--", "status"])
    assert not marker.exists()


# ---- item 12: byte-exact output, loud truncation ------------------------------------------------


def test_git_output_is_byte_exact(repo):
    blob = bytes(range(256)) * 4 + b"\xff\xfe\x00tail"
    (repo.path / "bin.dat").write_bytes(blob)
    assert repo.run(["git", "--", "add", "bin.dat"]).returncode == 0
    assert repo.run(["git", "--", "commit", "-q", "-m", "bin"]).returncode == 0
    result = repo.run(["git", "--", "show", "HEAD:bin.dat"], text=False)
    assert result.returncode == 0
    assert result.stdout == blob


def test_git_output_that_is_cut_says_so_and_fails(repo):
    (repo.path / "big.dat").write_bytes(b"\0" * (17 << 20))
    assert repo.run(["git", "--", "add", "big.dat"]).returncode == 0
    assert repo.run(["git", "--", "commit", "-q", "-m", "big"]).returncode == 0
    result = repo.run(["git", "--", "show", "HEAD:big.dat"], text=False)
    assert result.returncode != 0
    assert len(result.stdout) == 16 << 20
    assert b"output was cut" in result.stderr


def test_base64_replies_on_the_wire(repo):
    repo.run(["ping"])
    reply = repo.rpc({"command": "exec", "args": ["printf", "\\377\\000a"], "output_encoding": "base64"})
    assert reply["data"]["encoding"] == "base64"
    assert base64.b64decode(reply["data"]["stdout"]) == b"\xff\x00a"
    bad = repo.rpc({"command": "exec", "args": ["true"], "output_encoding": "rot13"})
    assert bad["status"] == "error" and "output_encoding" in bad["message"]


# ---- item 16: --exit-code -----------------------------------------------------------------------


def test_exec_exit_code_reports_the_commands_status(repo):
    assert repo.run(["exec", "--", "sh", "-c", "exit 3"]).returncode == 0  # the default stays
    assert repo.run(["exec", "--exit-code", "--", "sh", "-c", "exit 3"]).returncode == 3
    assert repo.run(["exec", "--exit-code", "--", "true"]).returncode == 0
    timed_out = repo.run(["exec", "--exit-code", "--timeout", "0.5", "--", "sleep", "30"])
    assert timed_out.returncode == 128 + signal.SIGTERM
    killed = repo.run(["exec", "--exit-code", "--", "sh", "-c", "kill -KILL $$"])
    assert killed.returncode == 128 + signal.SIGKILL
    assert repo.run(["exec", "--exit-code", "--", "no-such-program-xyz"]).returncode == 127


# ---- item 17: --timeout validated ---------------------------------------------------------------


@pytest.mark.parametrize("verb", [["exec"], ["git"]])
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "1e10", "abc", "1e400"])
def test_bad_timeouts_are_usage_errors(repo, verb, value):
    command = ["true"] if verb == ["exec"] else ["status"]
    result = repo.run([*verb, "--timeout", value, "--", *command])
    assert result.returncode == 2
    assert "must be a number of seconds above 0 and at most 1000000000" in result.stderr
    assert len(result.stderr) < 400


# ---- item 18: leftovers, 126 --------------------------------------------------------------------


def test_background_jobs_do_not_outlive_their_command(repo):
    data = _data(repo.run(["exec", "--", "sh", "-c", "sleep 30 & echo $!"]))
    pid = int(data["stdout"])
    repo.wait_for(lambda: not _alive(pid))


def test_a_program_that_cannot_be_executed_is_126(repo):
    script = repo.path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    data = _data(repo.run(["exec", "--", "./not-executable.sh"]))
    assert data["returncode"] == 126
    assert _data(repo.run(["exec", "--", "no-such-program-xyz"]))["returncode"] == 127


def test_git_may_not_write_the_users_configuration_or_another_repositorys(repo, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = repo.env(HOME=str(home))
    (repo.path / "gitconfig").write_text("[core]\n\tfsmonitor = touch /nonexistent/marker\n")
    assert repo.run(["git", "--", "add", "gitconfig"], env=env).returncode == 0
    assert repo.run(["git", "--", "commit", "-q", "-m", "cfg"], env=env).returncode == 0
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    for args in (
        ["checkout-index", "-f", f"--prefix={home}/.", "--", "gitconfig"],
        ["checkout-index", "-f", f"--prefix={other}/.git/", "--", "gitconfig"],
    ):
        result = repo.run(["git", "--", *args], env=env)
        assert result.returncode == 1 and "is not allowed" in result.stderr, args
    assert not (home / ".gitconfig").exists()
    assert not (other / ".git" / "gitconfig").exists()


def _kill_daemon(repo):
    """kill -9 of the daemon; then removes the socket it left, so that teardown need not wait."""
    daemon = repo.rpc({"command": "ping"})["data"]["pid"]
    os.kill(daemon, signal.SIGKILL)
    repo.wait_for(lambda: not _alive(daemon))
    os.unlink(repo.socket)


def test_a_command_dies_with_the_daemon(repo, tmp_path):
    pid_file = tmp_path / "pid"
    script = f'echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; exec sleep 60'
    running = subprocess.Popen([repo.bin, "exec", "--", "sh", "-c", script], env=repo.env(), cwd=repo.path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        repo.wait_for(pid_file.exists)
        command = int(pid_file.read_text())
        _kill_daemon(repo)  # no chance to clean up
        repo.wait_for(lambda: not _alive(command))
    finally:
        running.kill()
        running.communicate()


# What a command started dies with the daemon too, even on kill -9: the daemon's reaper kills the
# command's whole process group once the daemon is gone (src/exec/reaper.h).


def _reaper_of(daemon):
    """The pid of the daemon's reaper process, or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if parent == daemon and cmdline.split(b"\0")[1:2] == [b"reaper"]:
            return int(entry)
    return None


def test_what_a_command_started_dies_with_the_daemon_unless_it_left_the_session(repo, tmp_path):
    # A job that called setsid is no longer the command's: neither the end of the command nor of
    # the daemon kills it (README, exec).
    shell, job, escaped = tmp_path / "shell", tmp_path / "job", tmp_path / "escaped"
    script = (f"echo $$ > {shell}.tmp; mv {shell}.tmp {shell}; "
              f"sleep 300 & echo $! > {job}.tmp; mv {job}.tmp {job}; "
              f"setsid sleep 300 & echo $! > {escaped}.tmp; mv {escaped}.tmp {escaped}; wait")
    running = subprocess.Popen([repo.bin, "exec", "--", "sh", "-c", script], env=repo.env(), cwd=repo.path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pids = []
    try:
        repo.wait_for(lambda: shell.exists() and job.exists() and escaped.exists())
        pids = [int(f.read_text()) for f in (shell, job, escaped)]
        command, job_pid, escaped_pid = pids
        reaper = _reaper_of(repo.rpc({"command": "ping"})["data"]["pid"])
        assert reaper is not None and _alive(job_pid)
        _kill_daemon(repo)
        repo.wait_for(lambda: not _alive(command))
        repo.wait_for(lambda: not _alive(job_pid))
        repo.wait_for(lambda: not _alive(reaper))  # it has done all it will do
        assert _alive(escaped_pid)
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        running.kill()
        running.communicate()


def test_shutdown_leaves_no_reaper_behind(repo):
    assert repo.run(["ping"]).returncode == 0  # starts the daemon
    daemon = repo.rpc({"command": "ping"})["data"]["pid"]
    reaper = _reaper_of(daemon)
    assert reaper is not None
    assert repo.run(["shutdown"]).returncode == 0
    repo.wait_for(lambda: not _alive(daemon))
    assert not _alive(reaper)  # the daemon waited for it before it exited


def test_a_daemon_whose_reaper_died_still_runs_commands(repo):
    assert repo.run(["ping"]).returncode == 0
    daemon = repo.rpc({"command": "ping"})["data"]["pid"]
    reaper = _reaper_of(daemon)
    assert reaper is not None
    os.kill(reaper, signal.SIGKILL)
    repo.wait_for(lambda: not _alive(reaper))
    for word in ("one", "two"):
        assert _data(repo.run(["exec", "--", "echo", word]))["stdout"] == word + "\n"
    assert repo.rpc({"command": "ping"})["data"]["pid"] == daemon


# ---- --worktree and --socket pick the daemon for this call only ------------------------------


def test_worktree_and_socket_flags_do_not_reach_the_commands_environment(repo, tmp_path):
    env = repo.env()
    del env["HARNESS_WORKTREE"], env["HARNESS_SOCKET"]
    flags = ["--worktree", str(repo.path), "--socket", repo.socket]
    result = subprocess.run(
        [repo.bin, *flags, "exec", "--", "env"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    names = {line.split("=", 1)[0] for line in _data(result)["stdout"].splitlines()}
    assert "HARNESS_WORKTREE" not in names
    assert "HARNESS_SOCKET" not in names
    assert repo.rpc({"command": "ping"})["data"]["worktree"] == str(repo.path)
