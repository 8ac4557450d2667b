"""Plan files as people write them (README, "Plan formats"), through the real CLI: `plan
validate` prints what it understood without a daemon, `plan import` of each file of the corpus
in tests/plans/ gives the expected tasks in get-state, and a malformed file gets an error naming
its line and imports nothing."""

import json
import subprocess
from pathlib import Path

import pytest

PLANS = Path(__file__).resolve().parents[1] / "plans"

SPEC_GROUP_1 = ["1", "2", "4", "8"]
SPEC_GROUP_2 = ["3", "5"]

# file -> {task id: (dependencies, status)}, in plan order.
EXPECTED = {
    # The spec this project was built from: groups 1 -> 2 -> 3, task 10 after all of them.
    "integration-test-plan.md": {
        "1": ([], "pending"),
        "2": ([], "pending"),
        "3": (SPEC_GROUP_1, "pending"),
        "4": ([], "pending"),
        "5": (SPEC_GROUP_1, "pending"),
        "6": (SPEC_GROUP_2, "pending"),
        "7": (SPEC_GROUP_2, "pending"),
        "8": ([], "pending"),
        "9": (SPEC_GROUP_2, "pending"),
        "10": ([str(n) for n in range(1, 10)], "pending"),
    },
    # No group table: document order; ### headings; string ids (1.10 is not 1.1).
    "markdown-document-order.md": {
        "1": ([], "pending"),
        "1.1": (["1"], "pending"),
        "1.10": (["1.1"], "pending"),
        "10a": (["1.10"], "pending"),
    },
    # "**Group N:**" lines with ranges and remarks.
    "markdown-group-lines.md": {
        "1": ([], "pending"),
        "2": ([], "pending"),
        "3": (["1", "2"], "pending"),
        "4": (["1", "2"], "pending"),
        "5": (["3", "4"], "pending"),
    },
    # A "| Group |" table listed out of order: Group 10 follows Group 9; task 11 is in no group.
    "markdown-group-table.md": {
        "1": ([], "pending"),
        **{str(n): ([str(n - 1)], "pending") for n in range(2, 11)},
        "11": ([str(n) for n in range(1, 11)], "pending"),
    },
    # Headings in fences, nested fences of either length, tilde fences: text.
    "markdown-nested-fences.md": {
        "1": ([], "pending"),
        "2": (["1"], "pending"),
        "3": (["2"], "pending"),
    },
    # spec-kit: Phase 3.1, a full-width colon, [P], [US1], [x]/[X], a checkbox without id, a
    # task in a fence.
    "speckit-tasks.md": {
        "T001": ([], "completed"),
        "T002": (["T001"], "completed"),
        "T003": ([], "pending"),
        "T004": (["T001", "T002", "T003"], "pending"),
        "T005": (["T001", "T002", "T003"], "pending"),
        "T006": (["T001", "T002", "T003", "T005"], "pending"),
        "T007": (["T004", "T005", "T006"], "pending"),
        "T008": (["T004", "T005", "T006", "T007"], "pending"),
    },
}

# file -> what the error says after "plan file PATH: ".
MALFORMED = {
    "markdown-unknown-group-task.md":
        "line 11: group 2 lists task '3', but no '## Task 3:' heading defines it",
    "speckit-duplicate-id.md":
        "line 10: task T002 is listed twice (line 6 and line 10); expected unique task ids",
}


@pytest.fixture
def cli(harness_bin, git_worktree, socket_path, cli_env):
    """run(*args): the harness CLI for a fresh worktree and socket."""
    env = cli_env(git_worktree, socket_path)

    def run(*args):
        return subprocess.run([harness_bin, *args], env=env, capture_output=True, text=True,
                              timeout=60)

    return run


def tasks_in_state(cli):
    result = cli("get-state")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["tasks"]


def test_validate_prints_what_it_understood_of_the_spec(cli):
    result = cli("plan", "validate", "-f", str(PLANS / "integration-test-plan.md"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "format: markdown"
    assert lines[1].startswith("goal: Add missing integration test flows")
    assert lines[2] == "tasks: 10"
    assert lines[3:5] == ["  1: Task Claim Idempotency", "    after: (nothing)"]
    assert "  3: Timeout and Reclaim by Different Worker\n    after: 1, 2, 4, 8\n" in result.stdout
    assert "  10: Code Review\n    after: 1, 2, 3, 4, 5, 6, 7, 8, 9\n" in result.stdout


def test_validate_needs_no_daemon_and_writes_nothing(cli, socket_path):
    assert cli("plan", "validate", "-f", str(PLANS / "speckit-tasks.md")).returncode == 0
    assert not Path(socket_path).exists()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_import_gives_the_expected_tasks(cli, name):
    result = cli("plan", "import", "-f", str(PLANS / name))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Imported {len(EXPECTED[name])} tasks")
    tasks = tasks_in_state(cli)
    assert list(tasks) == list(EXPECTED[name])  # plan order is document order
    for task_id, (dependencies, status) in EXPECTED[name].items():
        assert tasks[task_id]["dependencies"] == dependencies, task_id
        assert tasks[task_id]["status"] == status, task_id


def test_task_bodies_become_instructions(cli):
    assert cli("plan", "import", "-f", str(PLANS / "integration-test-plan.md")).returncode == 0
    review = tasks_in_state(cli)["10"]
    assert review["description"] == "Code Review"
    assert review["instructions"].startswith("**Effort:** standard")
    assert "Dispatch code-reviewer agent" in review["instructions"]


def test_parallel_and_an_explicit_format(cli):
    plan = str(PLANS / "markdown-document-order.md")
    assert cli("plan", "import", "-f", plan, "--format", "markdown", "--parallel").returncode == 0
    assert all(not t["dependencies"] for t in tasks_in_state(cli).values())
    wrong = cli("plan", "import", "-f", plan, "--format", "json", "--force")
    assert wrong.returncode == 1 and f"plan file {plan}: " in wrong.stderr
    unknown = cli("plan", "validate", "-f", plan, "--format", "yaml")
    assert unknown.returncode != 0 and "unknown plan format 'yaml'" in unknown.stderr


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_file_names_the_line_and_imports_nothing(cli, name):
    plan = str(PLANS / "malformed" / name)
    checked = cli("plan", "validate", "-f", plan)
    assert checked.returncode == 1
    assert f"plan file {plan}: {MALFORMED[name]}" in checked.stderr
    assert cli("plan", "import", "-f", str(PLANS / "markdown-group-lines.md")).returncode == 0
    before = tasks_in_state(cli)
    imported = cli("plan", "import", "-f", plan, "--force")
    assert imported.returncode == 1
    assert f"plan file {plan}: {MALFORMED[name]}" in imported.stderr
    assert tasks_in_state(cli) == before
