"""Issue 13, items 9, 10, 15, 17, 19, 20: the Claude Code hooks (`harness hook EVENT`), the
per-worker commit gate, the per-agent default worker id, CLI usage errors, `plan_complete`,
and the Python state types. Black-box through the CLI as an agent runs it."""

import json
import subprocess
import sys
import uuid

import pytest

from harness.client import send_rpc
from harness.state import StateManager, Task, TaskStatus, WorkflowState

SESSION = "8f0c3a52-5a1e-4c7e-9d3b-0a1b2c3d4e5f"
SESSION_WORKER = "claude-8f0c3a52-5a1"  # "claude-" + the session id's first 12 characters


def _cli(args, env, stdin=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )


def _payload(event, worktree, **fields):
    # The fields Claude Code's hooks reference documents for every event, plus the event's own.
    payload = {
        "session_id": SESSION,
        "transcript_path": f"/home/u/.claude/projects/repo/{SESSION}.jsonl",
        "cwd": str(worktree),
        "permission_mode": "default",
        "hook_event_name": event,
    }
    payload.update(fields)
    return json.dumps(payload)


@pytest.fixture
def repo(git_worktree, socket_path, embedded_daemon, cli_env):
    """A git repository with one commit, a plan of three tasks, and a daemon in a thread."""
    worktree = git_worktree
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    StateManager(worktree).save(WorkflowState(tasks={
        "a": Task(id="a", description="Write the parser", instructions="Use recursive descent."),
        "b": Task(id="b", description="Write the printer"),
        "c": Task(id="c", description="Ship it", dependencies=["a", "b"]),
    }))
    embedded_daemon(socket_path, worktree)

    def commit(message):
        subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", message], cwd=worktree, check=True)

    def rpc(request):
        return send_rpc(socket_path, request)

    def env(**extra):
        return cli_env(worktree, socket_path, **extra)

    return {"worktree": worktree, "socket": socket_path, "rpc": rpc, "commit": commit, "git": git,
            "env": env}


def _hook(repo, event, payload, **env):
    return _cli(["hook", event], repo["env"](**env), stdin=payload)


# --- item 9: harness hook ---------------------------------------------------------------------

def test_stop_hook_blocks_by_json_decision_while_the_session_holds_a_task(repo):
    claim = _cli(["task", "claim"], repo["env"](HARNESS_WORKER_ID=SESSION_WORKER))
    assert json.loads(claim.stdout)["data"]["task"]["id"] == "a"

    stop = _hook(repo, "stop", _payload("Stop", repo["worktree"], stop_hook_active=False))
    assert stop.returncode == 0, stop.stderr
    decision = json.loads(stop.stdout)
    assert decision["decision"] == "block"
    assert "task a" in decision["reason"]
    assert "harness task complete --id a" in decision["reason"]

    # Continuing because of that block, with nothing changed: let it stop (no loop).
    again = _hook(repo, "stop", _payload("Stop", repo["worktree"], stop_hook_active=True))
    assert again.returncode == 0 and again.stdout.strip() == ""
    # Something changed (a commit): block again, even while continuing.
    repo["commit"]("work on a")
    changed = _hook(repo, "subagent-stop", _payload("SubagentStop", repo["worktree"], stop_hook_active=True))
    assert json.loads(changed.stdout)["decision"] == "block"

    assert repo["rpc"]({"command": "task_complete", "task_id": "a", "worker_id": SESSION_WORKER})["status"] == "ok"
    done = _hook(repo, "stop", _payload("Stop", repo["worktree"], stop_hook_active=False))
    assert done.returncode == 0 and done.stdout.strip() == ""


def test_stop_hook_does_not_block_a_session_that_holds_nothing(repo):
    assert repo["rpc"]({"command": "task_claim", "worker_id": "someone-else"})["data"]["task"]["id"] == "a"
    stop = _hook(repo, "stop", _payload("Stop", repo["worktree"], stop_hook_active=False))
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.strip() == ""


def test_stop_hook_knows_the_agent_process_worker_without_an_env_file(repo):
    # Without $CLAUDE_ENV_FILE the agent's commands run under its process's id; the hook, run
    # by the same agent, must find that worker's task too.
    script = (
        "import subprocess, sys, json\n"
        "claim = subprocess.run([sys.executable, '-m', 'harness', 'task', 'claim'], capture_output=True, text=True)\n"
        "print(json.loads(claim.stdout)['data']['task']['id'])\n"
        "stop = subprocess.run(['sh', '-c', 'exec \"$0\" -m harness hook stop', sys.executable],\n"
        "                      input=sys.argv[1], capture_output=True, text=True)\n"
        "print(stop.stdout.strip())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, _payload("Stop", repo["worktree"], stop_hook_active=False)],
        capture_output=True, text=True, env=repo["env"](), timeout=60,
    )
    assert out.returncode == 0, out.stderr
    task_id, decision = out.stdout.strip().split("\n")
    assert task_id == "a"
    assert json.loads(decision)["decision"] == "block"


@pytest.mark.parametrize("garbage", ["", "not json", "[]", "5", '{"stop_hook_active": "yes"}', '{"session_id": 7}'])
def test_hooks_never_block_on_a_malformed_payload(repo, garbage):
    repo["rpc"]({"command": "task_claim", "worker_id": SESSION_WORKER})
    for event in ("stop", "subagent-stop", "session-start", "pre-compact"):
        result = _hook(repo, event, garbage)
        assert result.returncode == 0, (event, result.stderr)
        assert result.stdout == ""
        assert "payload" in result.stderr


def test_session_start_hook_tells_the_agent_who_it_is_and_what_it_holds(repo, tmp_path):
    env_file = tmp_path / "claude.env"
    assert repo["rpc"]({"command": "task_claim", "worker_id": SESSION_WORKER})["data"]["task"]["id"] == "a"
    result = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="startup"),
                   CLAUDE_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)["hookSpecificOutput"]
    assert out["hookEventName"] == "SessionStart"
    context = out["additionalContext"]
    assert SESSION_WORKER in context
    assert "You hold task a: Write the parser" in context
    assert "Use recursive descent." in context
    assert "0/3 tasks completed" in context
    assert env_file.read_text() == f"export HARNESS_WORKER_ID='{SESSION_WORKER}'\n"
    # Resumed: the line is not written twice.
    _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="resume"),
          CLAUDE_ENV_FILE=str(env_file))
    assert env_file.read_text().count("HARNESS_WORKER_ID") == 1
    # The exported id is what the session's commands then claim under.
    exported = subprocess.run(["sh", "-c", f". '{env_file}' && echo $HARNESS_WORKER_ID"], capture_output=True, text=True)
    assert exported.stdout.strip() == SESSION_WORKER


def test_pre_compact_keeps_the_assignment_for_the_next_session_start(repo):
    repo["rpc"]({"command": "task_claim", "worker_id": SESSION_WORKER})
    pre = _hook(repo, "pre-compact", _payload("PreCompact", repo["worktree"], trigger="auto", custom_instructions=""))
    assert pre.returncode == 0 and pre.stdout == "", pre.stderr
    # Meanwhile the task was completed for it: after the compaction the agent is told.
    repo["rpc"]({"command": "task_complete", "task_id": "a", "worker_id": SESSION_WORKER})
    start = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="compact"))
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "Before the compaction you held task a; it is no longer yours." in context
    assert "harness task claim" in context


def test_hooks_without_a_workflow_say_nothing(tmp_path, cli_env):
    worktree = tmp_path / "empty"
    worktree.mkdir()
    env = cli_env(worktree, f"/tmp/harness-none-{uuid.uuid4().hex[:8]}.sock")
    for event, name in (("session-start", "SessionStart"), ("stop", "Stop"), ("pre-compact", "PreCompact")):
        result = _cli(["hook", event], env, stdin=_payload(name, worktree, stop_hook_active=False))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() in ("", "{}")
    assert not (worktree / ".harness").exists()  # no daemon was started, no state created


def test_old_hook_verbs_keep_their_plain_output(repo):
    repo["rpc"]({"command": "task_claim", "worker_id": "w"})
    check = _cli(["check-state"], repo["env"]())
    assert check.returncode == 1 and check.stdout.strip() == "deny: Workflow in progress (0/3)"


# --- item 10: the commit gate per worker ---------------------------------------------------------

def test_commit_gate_is_per_worker_and_forgets_a_replaced_plan(repo):
    env_a = repo["env"](HARNESS_WORKER_ID="A")
    env_b = repo["env"](HARNESS_WORKER_ID="B")
    assert json.loads(_cli(["task", "claim"], env_a).stdout)["data"]["task"]["id"] == "a"
    assert json.loads(_cli(["task", "claim"], env_b).stdout)["data"]["task"]["id"] == "b"
    assert _cli(["task", "complete", "--id", "a"], env_a).returncode == 0
    # A's completion says nothing about B's work.
    gate_b = _cli(["check-commit"], env_b)
    assert gate_b.returncode == 0 and gate_b.stdout.strip() == "allow"
    assert json.loads(_cli(["task", "claim"], env_a).stdout)["data"]["task"] is None  # c waits for b
    assert _cli(["task", "complete", "--id", "b"], env_b).returncode == 0
    assert json.loads(_cli(["task", "claim"], env_a).stdout)["data"]["task"]["id"] == "c"
    gate_a = _cli(["check-commit"], env_a)
    assert gate_a.returncode == 1 and "task a was completed" in gate_a.stdout

    plan = repo["worktree"].parent / "plan.json"
    plan.write_text(json.dumps({"tasks": {"x": {"description": "new"}}}))
    assert _cli(["plan", "import", "-f", str(plan), "--force"], env_a).returncode == 0
    assert json.loads(_cli(["task", "claim"], env_a).stdout)["data"]["task"]["id"] == "x"
    gate = _cli(["check-commit"], env_a)
    assert gate.returncode == 0 and gate.stdout.strip() == "allow", gate.stdout


# --- item 15: the default worker id --------------------------------------------------------------

def test_default_worker_id_is_per_agent_and_stable(tmp_path, cli_env):
    env = cli_env(tmp_path, None, HARNESS_SOCKET=None, HARNESS_WORKTREE=None,
                  XDG_RUNTIME_DIR=str(tmp_path))
    agent = (
        "import subprocess, sys\n"
        "for _ in range(2):\n"
        "    print(subprocess.run(['sh', '-c', 'exec env \"$0\" -m harness worker-id', sys.executable],\n"
        "                         capture_output=True, text=True, check=True).stdout.strip())\n"
    )
    ids = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", agent], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        first, second = out.stdout.split()
        assert first == second  # the same agent gets the same id on every call
        ids.append(first)
    assert ids[0] != ids[1]  # two agents never share one
    assert list(tmp_path.iterdir()) == []  # no shared id file
    verbose = _cli(["worker-id", "--verbose"], dict(env, HARNESS_WORKER_ID="me"))
    assert verbose.stdout.strip() == "me" and "HARNESS_WORKER_ID" in verbose.stderr


# --- item 17: CLI usage --------------------------------------------------------------------------

def test_cli_usage_errors_say_what_is_wrong(repo, tmp_path):
    env = repo["env"]()
    bogus = _cli(["bogus"], env)
    assert bogus.returncode == 2
    assert "unknown command 'bogus'" in bogus.stderr and "task" in bogus.stderr
    nested = _cli(["task", "bogus"], env)
    assert nested.returncode == 2 and "unknown command 'task bogus'" in nested.stderr
    assert "claim" in nested.stderr
    negative = _cli(["log", "-n", "-1"], env)
    assert negative.returncode == 2 and negative.stdout == ""
    version = _cli(["--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("harness ")
    for content in ("[1, 2]", "not json", '{"task": {}}'):
        result = _cli(["update-state"], env, stdin=content)
        assert result.returncode == 1
        assert "'updates'" not in result.stderr and "stdin" in result.stderr, result.stderr


# --- item 19: plan_complete and session-start ----------------------------------------------------

def test_claim_says_whether_the_plan_is_complete(repo):
    rpc = repo["rpc"]
    assert rpc({"command": "task_claim", "worker_id": "w1"})["data"]["plan_complete"] is False
    rpc({"command": "task_claim", "worker_id": "w2"})
    blocked = rpc({"command": "task_claim", "worker_id": "w3"})["data"]
    assert blocked["task"] is None and blocked["plan_complete"] is False  # c waits for a and b
    rpc({"command": "task_complete", "task_id": "a", "worker_id": "w1"})
    rpc({"command": "task_complete", "task_id": "b", "worker_id": "w2"})
    rpc({"command": "task_claim", "worker_id": "w3"})
    rpc({"command": "task_complete", "task_id": "c", "worker_id": "w3"})
    done = rpc({"command": "task_claim", "worker_id": "w3"})["data"]
    assert done["task"] is None and done["plan_complete"] is True
    start = _cli(["session-start"], repo["env"]())
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    assert context == "Workflow complete: 3/3 tasks completed"


def test_session_start_of_an_empty_workflow_says_nothing(tmp_path, cli_env):
    worktree = tmp_path / "w"
    worktree.mkdir()
    StateManager(worktree).save(WorkflowState(tasks={}))
    result = _cli(["session-start"], cli_env(worktree, f"/tmp/harness-none-{uuid.uuid4().hex[:8]}.sock"))
    assert result.returncode == 0 and json.loads(result.stdout) == {}


# --- item 20: Python state types -----------------------------------------------------------------

def test_workflow_state_reads_every_form_the_protocol_allows():
    listed = WorkflowState.from_dict({"tasks": [{"id": "a"}, {"id": "b", "dependencies": ["a"]}]})
    assert list(listed.tasks) == ["a", "b"] and listed.tasks["b"].dependencies == ["a"]
    keyed = WorkflowState.from_dict({"tasks": {"a": {"description": "no id: the key is the id"}}})
    assert keyed.tasks["a"].id == "a"
    with pytest.raises(ValueError, match="listed under"):
        WorkflowState.from_dict({"tasks": {"a": {"id": "b"}}})
    with pytest.raises(ValueError, match="no 'id'"):
        WorkflowState.from_dict({"tasks": [{"description": "x"}]})
    with pytest.raises(ValueError, match="Duplicate"):
        WorkflowState.from_dict({"tasks": [{"id": "a"}, {"id": "a"}]})


def test_task_with_an_empty_id_says_so():
    with pytest.raises(ValueError, match="id is empty"):
        Task(id="")


def test_save_refuses_a_running_task_without_owner(tmp_path):
    manager = StateManager(tmp_path)
    with pytest.raises(ValueError, match="no owner"):
        manager.save(WorkflowState(tasks={"a": Task(id="a", status=TaskStatus.RUNNING)}))
    assert manager.load() is None
    manager.save(WorkflowState(tasks={"a": Task(id="a", status=TaskStatus.RUNNING, claimed_by="w")}))
    assert manager.load().tasks["a"].claimed_by == "w"


# --- found trying the fixes as a new user ------------------------------------------------------

def test_a_harness_call_inside_harness_exec_is_the_same_worker(repo, tmp_path):
    """The command's parent is the daemon: without the id passed on, every agent's nested
    `harness task claim` found the daemon as its agent process, one worker for all."""
    env = {k: v for k, v in repo["env"]().items()}
    agent = (
        "import subprocess, sys\n"
        "harness = [sys.executable, '-m', 'harness']\n"
        "own = subprocess.run(harness + ['worker-id'], capture_output=True, text=True, check=True)\n"
        "nested = subprocess.run(harness + ['exec', '--', *harness, 'worker-id'],\n"
        "                        capture_output=True, text=True, check=True)\n"
        "print(own.stdout.strip(), __import__('json').loads(nested.stdout)['data']['stdout'].strip())\n"
    )
    ids = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", agent], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        own, nested = out.stdout.split()
        assert nested == own  # the nested call works as the agent that ran it
        ids.append(own)
    assert ids[0] != ids[1]


def test_session_start_without_an_env_file_gives_a_complete_command_that_works(repo):
    holder = SESSION_WORKER
    assert _cli(["task", "claim"], repo["env"](HARNESS_WORKER_ID=holder)).returncode == 0
    start = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="resume"))
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    command = f"HARNESS_WORKER_ID={holder} harness task complete --id a"
    assert command in context, context
    # Exactly what it says, typed in a shell of the agent (which has no HARNESS_WORKER_ID).
    env = repo["env"]()
    typed = command.replace("harness task", f"'{sys.executable}' -m harness task")
    shell = subprocess.run(["sh", "-c", typed], capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(shell.stdout)["status"] == "ok", shell.stdout + shell.stderr


def test_a_plan_stuck_behind_a_failed_task_is_not_in_progress(repo):
    env = repo["env"]()
    plan = repo["worktree"].parent / "stuck.json"
    plan.write_text(json.dumps([{"id": "t1", "status": "failed"}, {"id": "t2", "dependencies": ["t1"]}]))
    assert _cli(["plan", "import", "-f", str(plan), "--force"], env).returncode == 0
    claim = json.loads(_cli(["task", "claim"], dict(env, HARNESS_WORKER_ID="w")).stdout)
    assert claim["data"]["task"] is None and claim["data"]["plan_complete"] is True
    check = _cli(["check-state"], env)
    assert (check.returncode, check.stdout.strip()) == (0, "allow")  # the same rule as the claim
    start = json.loads(_cli(["session-start"], env).stdout)
    assert "Workflow stuck: 0/2 tasks completed, 1 failed" in start["hookSpecificOutput"]["additionalContext"]


def test_update_state_from_a_missing_file_is_a_usage_error(repo):
    result = _cli(["update-state", "-f", "/nonexistent/plan.json"], repo["env"]())
    assert result.returncode == 2 and "/nonexistent/plan.json" in result.stderr


# --- issue 17: uncommitted work, the assignment card across compactions ----------------------

def test_stop_hook_blocks_on_uncommitted_work_only_when_it_can_be_the_sessions(repo):
    worktree = repo["worktree"]
    (worktree / ".gitignore").write_text("*.log\n")
    subprocess.run(repo["git"] + ["add", ".gitignore"], cwd=worktree, check=True)
    repo["commit"]("ignore logs")
    (worktree / "build.log").write_text("ignored: not work\n")
    (worktree / ".claude").mkdir()
    (worktree / ".claude" / "settings.local.json").write_text("{}\n")  # Claude Code's, not work
    assert _hook(repo, "stop", _payload("Stop", worktree, stop_hook_active=False)).stdout == ""

    (worktree / "parser.py").write_text("print('parse')\n")
    (worktree / "README.md").write_text("changed\n")
    stop = _hook(repo, "stop", _payload("Stop", worktree, stop_hook_active=False))
    decision = json.loads(stop.stdout)
    assert decision["decision"] == "block"
    assert "parser.py" in decision["reason"] and "README.md" in decision["reason"]
    assert "`harness git add -A` then `harness git commit -m" in decision["reason"]
    # Told, nothing changed since: no loop.
    assert _hook(repo, "stop", _payload("Stop", worktree, stop_hook_active=True)).stdout == ""

    # While another agent works, the changes may be its: never keep this one going for that.
    repo["rpc"]({"command": "task_claim", "worker_id": "someone-else"})
    assert _hook(repo, "stop", _payload("Stop", worktree, stop_hook_active=False)).stdout == ""


def test_a_compaction_gives_the_assignment_card_back_exactly_once(repo):
    added = repo["rpc"]({"command": "task_add", "task": {
        "id": "card", "description": "Write the lexer", "priority": 10,
        "instructions": "Table driven.", "success_criteria": "lexer tests pass",
        "files_in_scope": ["src/lexer.py", "tests/test_lexer.py"]}})
    assert added["status"] == "ok", added
    assert repo["rpc"]({"command": "task_claim", "worker_id": SESSION_WORKER})["data"]["task"]["id"] == "card"

    pre = _hook(repo, "pre-compact", _payload("PreCompact", repo["worktree"], trigger="auto", custom_instructions=""))
    assert pre.returncode == 0 and pre.stdout == ""
    start = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="compact"))
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    for part in ("Task: card", "Description: Write the lexer", "Instructions: Table driven.",
                 "Success criteria: lexer tests pass", "Files in scope: src/lexer.py tests/test_lexer.py",
                 "s left", "harness task complete --id card", "harness task fail --id card",
                 "harness task release --id card"):
        assert part in context, (part, context)
    assert context.count("== harness assignment card ==") == 1

    # The same compaction does not give it again; the next one (or a resume) does.
    again = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="compact"))
    assert "assignment card" not in json.loads(again.stdout)["hookSpecificOutput"]["additionalContext"]
    resume = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="resume"))
    assert "Task: card" in json.loads(resume.stdout)["hookSpecificOutput"]["additionalContext"]
    startup = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="startup"))
    assert "assignment card" not in json.loads(startup.stdout)["hookSpecificOutput"]["additionalContext"]


def test_a_compaction_without_readable_state_gives_the_card_as_it_was(repo):
    assert repo["rpc"]({"command": "task_claim", "worker_id": SESSION_WORKER})["data"]["task"]["id"] == "a"
    assert _hook(repo, "pre-compact", _payload("PreCompact", repo["worktree"], trigger="manual", custom_instructions="")).returncode == 0
    (repo["worktree"] / ".git" / "harness" / "state.db").unlink()
    start = _hook(repo, "session-start", _payload("SessionStart", repo["worktree"], source="compact"))
    context = json.loads(start.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "your assignment at the compaction was" in context
    assert "Task: a" in context and "harness task complete --id a" in context
