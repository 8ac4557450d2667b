"""A worktree per agent on one plan (DESIGN §8c; README "Four agents, four worktrees, one
plan"): `harness worktree add|list|remove|bind|unbind`, claims that record the worktree they
came from, and the repository-wide git lock. No HARNESS_SOCKET here: each worktree finds its
daemon by the default per-worktree socket, so reaching the plan's daemon from a new worktree is
the binding's doing."""

import fcntl
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import GIT, SANITIZER_ENV, _stop_daemon, _wait_for


@pytest.fixture(scope="module")
def proj(tmp_path_factory, harness_bin):
    base = tmp_path_factory.mktemp("wt")
    repo = base / "proj"
    repo.mkdir()
    subprocess.run(GIT + ["init", "-q", "-b", "main"], cwd=repo, check=True)
    for key, value in (("user.name", "harness-test"), ("user.email", "test@localhost")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
    (repo / "README.md").write_text("hello\n")
    subprocess.run(GIT + ["add", "README.md"], cwd=repo, check=True)
    subprocess.run(GIT + ["commit", "-q", "-m", "initial"], cwd=repo, check=True)
    run_dir = base / "run"
    run_dir.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "XDG_RUNTIME_DIR": str(run_dir),
        "USER": os.environ.get("USER", "harness-test"),
        **SANITIZER_ENV,
    }

    def run(*args, cwd=repo, worker="w0", **extra):
        return subprocess.run([harness_bin, *args], env={**env, "HARNESS_WORKER_ID": worker, **extra},
                              cwd=cwd, capture_output=True, text=True, timeout=60)

    def sockets():
        return sorted(run_dir.glob("harness-*/*.sock"))

    yield SimpleNamespace(base=base, repo=repo, run=run, sockets=sockets, env=env)
    for socket_path in sockets():
        _stop_daemon(str(socket_path))


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _claimed(result):
    return json.loads(_ok(result).stdout)["data"]["task"]


def test_add_creates_a_bound_worktree_on_a_new_branch(proj):
    out = _ok(proj.run("worktree", "add", "a")).stdout
    a = proj.base / "proj--a"
    assert "proj--a" in out and "bound" in out
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=a, capture_output=True,
                            text=True, check=True).stdout
    assert branch == "a\n"
    # The binding lives under the worktree's git directory, out of `git clean`'s reach.
    assert (proj.repo / ".git" / "worktrees" / "proj--a" / "harness" / "bound-to").read_text() \
        == f"{proj.repo.resolve()}\n"
    assert not (a / ".harness").exists()
    _ok(proj.run("worktree", "add", "b", "--from", "main"))
    assert proj.run("worktree", "add", "a").returncode == 1  # exists already
    bad = proj.run("worktree", "add", "-x")
    assert bad.returncode != 0


def test_claims_from_several_worktrees_reach_one_daemon_and_plan(proj):
    plan = proj.base / "plan.json"
    plan.write_text(json.dumps({"tasks": {t: {"description": t} for t in ("t1", "t2", "t3", "t4")}}))
    _ok(proj.run("plan", "import", "--file", str(plan)))
    a, b = proj.base / "proj--a", proj.base / "proj--b"
    (a / "src").mkdir()
    taken = {
        "wa": _claimed(proj.run("task", "claim", cwd=a / "src", worker="wa")),
        "wb": _claimed(proj.run("task", "claim", cwd=b, worker="wb")),
        "w0": _claimed(proj.run("task", "claim", cwd=proj.repo, worker="w0")),
    }
    assert len({t["id"] for t in taken.values()}) == 3
    assert taken["wa"]["worktree"] == str(a.resolve())
    assert taken["wb"]["worktree"] == str(b.resolve())
    assert taken["w0"]["worktree"] == str(proj.repo.resolve())
    assert len(proj.sockets()) == 1  # one daemon for the three worktrees
    # HARNESS_WORKTREE naming the plan's worktree: the claim still comes from the cwd's.
    again = _claimed(proj.run("task", "claim", cwd=a, worker="wa", HARNESS_WORKTREE=str(proj.repo)))
    assert (again["id"], again["worktree"]) == (taken["wa"]["id"], str(a.resolve()))
    shown = _ok(proj.run("task", "show", "--id", taken["wa"]["id"], cwd=b)).stdout
    assert f"worktree      {a.resolve()}" in shown
    # status says where each running task was claimed from (as data, and by directory name).
    status = json.loads(_ok(proj.run("status", "--json", cwd=a)).stdout)
    assert {r["id"]: r["worktree"] for r in status["running_tasks"]} == \
        {t["id"]: t["worktree"] for t in taken.values()}
    text = _ok(proj.run("status", cwd=a)).stdout
    assert f"in {a.name}" in text and f"in {b.name}" in text


def test_exec_and_git_from_a_bound_worktree_run_in_it(proj):
    a = proj.base / "proj--a"
    data = json.loads(_ok(proj.run("exec", "--", "pwd", cwd=a / "src", worker="wa")).stdout)["data"]
    assert data["stdout"] == f"{(a / 'src').resolve()}\n"
    assert _ok(proj.run("git", "--", "branch", "--show-current", cwd=a, worker="wa")).stdout == "a\n"


def test_list_shows_branch_state_binding_and_holders(proj):
    b = proj.base / "proj--b"
    (b / "scratch.txt").write_text("work in progress\n")
    listed = json.loads(_ok(proj.run("worktree", "list", "--json")).stdout)["worktrees"]
    by_path = {Path(w["path"]).name: w for w in listed}
    assert set(by_path) >= {"proj", "proj--a", "proj--b"}
    assert (by_path["proj"]["branch"], by_path["proj"]["binding"]) == ("main", "plan")
    assert (by_path["proj--a"]["branch"], by_path["proj--a"]["binding"]) == ("a", "bound")
    assert by_path["proj--a"]["dirty"] is False and by_path["proj--b"]["dirty"] is True
    assert [t["worker_id"] for t in by_path["proj--a"]["tasks"]] == ["wa"]
    assert [t["worker_id"] for t in by_path["proj--b"]["tasks"]] == ["wb"]
    text = _ok(proj.run("worktree", "list", cwd=b)).stdout.splitlines()
    assert text[0].split() == ["WORKTREE", "BRANCH", "STATE", "PLAN", "HELD", "BY"]
    row_b = next(line for line in text if "proj--b" in line).split()
    assert row_b[1:4] == ["b", "dirty", "bound"] and row_b[4].startswith("t")


def test_remove_refuses_while_dirty_or_held_and_force_overrides_with_a_log(proj):
    a, b = proj.base / "proj--a", proj.base / "proj--b"
    dirty = proj.run("worktree", "remove", "b")
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr and b.exists()
    held = proj.run("worktree", "remove", "a")
    assert held.returncode == 1 and "held from it by wa" in held.stderr and a.exists()
    task = json.loads(_ok(proj.run("task", "list", "--json")).stdout)["tasks"]
    mine = next(t for t in task if t.get("claimed_by") == "wa")
    _ok(proj.run("task", "complete", "--id", mine["id"], cwd=a, worker="wa"))
    _ok(proj.run("worktree", "remove", "a"))
    assert not a.exists()
    forced = _ok(proj.run("worktree", "remove", "b", "--force"))
    assert not b.exists() and "still held by wb" in forced.stdout
    def removals():  # the trajectory is written behind the replies: wait for the second
        events = [json.loads(line) for line in
                  (proj.repo / ".git" / "harness" / "trajectory.jsonl").read_text().splitlines()]
        return [e["args"] for e in events
                if e["event"] == "git" and e["args"][1:3] == ["worktree", "remove"]]

    _wait_for(lambda: len(removals()) == 2)
    assert removals()[1][3] == "--force" and removals()[1][-1].endswith("proj--b")
    assert removals()[0][3:] == ["../proj--a"]
    names = [Path(w["path"]).name for w in
             json.loads(_ok(proj.run("worktree", "list", "--json")).stdout)["worktrees"]]
    assert "proj--a" not in names and "proj--b" not in names


def test_a_plain_git_worktree_keeps_its_own_plan_until_bound(proj):
    plain = proj.base / "plain"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "plain", str(plain)], cwd=proj.repo,
                   check=True)
    own = _claimed(proj.run("task", "claim", cwd=plain, worker="wp"))
    assert own is None  # its own daemon, with no plan
    assert len(proj.sockets()) == 2
    busy = proj.run("worktree", "bind", cwd=plain)
    assert busy.returncode == 1 and "stop it first" in busy.stderr
    _ok(proj.run("shutdown", cwd=plain))
    _ok(proj.run("worktree", "bind", cwd=plain))
    shared = _claimed(proj.run("task", "claim", cwd=plain, worker="wp"))
    assert shared is not None and shared["worktree"] == str(plain.resolve())
    _ok(proj.run("task", "release", "--id", shared["id"], cwd=plain, worker="wp"))
    _ok(proj.run("worktree", "unbind", str(plain)))
    assert _claimed(proj.run("task", "claim", cwd=plain, worker="wp")) is None
    not_linked = proj.run("worktree", "bind", str(proj.repo))
    assert not_linked.returncode == 1 and "not a linked worktree" in not_linked.stderr


def _blocked_waiters(lock_file):
    inode = os.stat(lock_file).st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if "->" in line and f":{inode} " in line)


def test_git_is_serialised_across_the_worktrees_and_daemons_of_a_repository(proj, harness_bin):
    """The repository lock, held here: git from a bound worktree (the plan's daemon) and from an
    unbound one (a daemon of its own) both wait for it."""
    bound = proj.base / "proj--c"
    _ok(proj.run("worktree", "add", "c"))
    unbound = proj.base / "plain"  # unbound by the test before; its own daemon
    lock_file = proj.repo / ".git" / "harness-git.lock"
    waiting = []
    with open(lock_file, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        for cwd in (bound, unbound):
            waiting.append(subprocess.Popen(
                [harness_bin, "git", "--", "status", "--short"], cwd=cwd,
                env={**proj.env, "HARNESS_WORKER_ID": "wg"}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True))
        _wait_for(lambda: _blocked_waiters(lock_file) == 2, timeout=30)
        assert all(p.poll() is None for p in waiting)  # neither git ran while the lock was held
    for p in waiting:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    _ok(proj.run("worktree", "remove", "c"))
