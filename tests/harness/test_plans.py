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
    # "**Depends on:**" lines replace document order; one inside a fence is text.
    "markdown-depends-on.md": {
        "1": ([], "pending"),
        "2": (["1"], "pending"),
        "3": (["1"], "pending"),
        "4": (["2", "3"], "pending"),
    },
    # Task packets: a <tasks> wrapper, dependencies after the tasks ("wire, docs"), status.
    "xml-task-packets.xml": {
        "design": ([], "completed"),
        "core": (["design"], "pending"),
        "wire": (["core"], "pending"),
        "docs": (["design"], "pending"),
        "review": (["wire", "docs"], "pending"),
    },
    # depends="..." attributes and <dep to> inside a task; a title attribute; a <goal> element.
    "xml-inline-dependencies.xml": {
        "1": ([], "pending"),
        "2": (["1"], "pending"),
        "3": (["2"], "pending"),
        "4": (["2", "3"], "pending"),
    },
    # Tagged (master read, feature-search not); int and string ids; subtasks as PARENT.SUB
    # with sibling ints and qualified ids; parents after their subtasks; done -> completed.
    "taskmaster-tagged.json": {
        "1": ([], "completed"),
        "2": (["1", "2.1", "2.2", "2.3"], "pending"),
        "2.1": (["1"], "completed"),
        "2.2": (["2.1"], "pending"),
        "2.3": (["2.1", "2.2"], "pending"),
        "3": (["2", "3.1", "3.2"], "pending"),
        "3.1": (["2.3", "2"], "pending"),
        "3.2": (["2"], "pending"),
        "4": (["3", "2.3"], "pending"),
    },
    # Legacy {"tasks": [...]} beside other top-level keys; "deferred" is not done.
    "taskmaster-legacy.json": {
        "1": ([], "completed"),
        "2": (["1", "2.1", "2.2"], "pending"),
        "2.1": (["1"], "completed"),
        "2.2": (["2.1"], "pending"),
        "3": (["1"], "pending"),
    },
    # blocks orders; parent-child, discovered-from, supersedes and related do not; a blank
    # line; a tombstone is no task (and a blocks on it is dropped); closed -> completed.
    "beads-issues.jsonl": {
        "ph-1": ([], "pending"),
        "ph-1.1": ([], "completed"),
        "ph-1.2": (["ph-1.1"], "pending"),
        "ph-2": (["ph-1.2"], "pending"),
        "ph-4": (["ph-1.2"], "pending"),
    },
    # Without issue_id or type (a blocks dependency, as beads defaults it).
    "beads-minimal.jsonl": {
        "bd-a1": ([], "completed"),
        "bd-b2": (["bd-a1"], "pending"),
        "bd-c3": (["bd-a1", "bd-b2"], "pending"),
    },
}

# file -> what the error says after "plan file PATH: ".
MALFORMED = {
    "markdown-unknown-group-task.md":
        "line 11: group 2 lists task '3', but no '## Task 3:' heading defines it",
    "speckit-duplicate-id.md":
        "line 10: task T002 is listed twice (line 6 and line 10); expected unique task ids",
    "xml-unknown-dependency.xml":
        "line 6: dependency names task 'c', but no <task id=\"c\"> defines it",
    "xml-not-well-formed.xml": "line 3: expected well-formed XML: ",
    "xml-external-entity.xml":
        "line 2: expected no DOCTYPE: a plan may not declare a DTD or entities",
    "taskmaster-unknown-dependency.json":
        "master.tasks[1].subtasks[0].dependencies[0]: task 2.1 depends on '1.5', which no task "
        "or subtask of 2 has as its id",
    "taskmaster-no-master-tag.json":
        "expected the tag 'master' (choose one with --tag), found the tags feature-a, feature-b",
    "beads-bad-line.jsonl":
        "line 3: expected one JSON object a line: invalid JSON at column 45: ",
    "beads-unknown-blocker.jsonl":
        "line 2: dependencies[1]: issue x-2 is blocked by 'x-9', which is not an issue of this "
        "file",
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


def test_validate_prints_the_task_packets(cli):
    result = cli("plan", "validate", "-f", str(PLANS / "xml-task-packets.xml"))
    assert result.returncode == 0, result.stderr
    core = result.stdout.split("  core: ")[1].split("  wire: ")[0]
    for line in ["after: design", "instructions: 1 line", "priority: 1", "role: backend",
                 "model: sonnet", "input_context: The design in docs/rate-limit.md",
                 "output_contract: limit::Bucket with try_take(n)",
                 "constraints: No new dependencies ...",
                 "success_criteria: Unit tests cover refill and burst",
                 "files_in_scope: src/limit/, tests/limit/", "files_out_of_scope: src/legacy/",
                 "tools: bash, git", "artifacts_to_read: docs/rate-limit.md",
                 "artifacts_to_write: src/limit/bucket.cc",
                 "verification_commands: make test, sh -c ctest -R \"Limit*\""]:
        assert f"    {line}\n" in core, (line, core)
    assert result.stdout.splitlines()[:3] == [
        "format: xml", "goal: Add rate limiting to the public API", "tasks: 5"]


def test_a_tag_chooses_the_taskmaster_tasks(cli):
    plan = str(PLANS / "taskmaster-tagged.json")
    checked = cli("plan", "validate", "-f", plan, "--tag", "feature-search")
    assert checked.returncode == 0, checked.stderr
    assert "goal: Search feature branch\ntasks: 2\n" in checked.stdout
    imported = cli("plan", "import", "-f", plan, "--tag", "feature-search")
    assert imported.returncode == 0, imported.stderr
    tasks = tasks_in_state(cli)
    assert {t: v["dependencies"] for t, v in tasks.items()} == {"1": [], "2": ["1"]}
    missing = cli("plan", "import", "-f", plan, "--tag", "nope", "--force")
    assert missing.returncode == 1
    assert ("expected the tag 'nope' (choose one with --tag), found the tags master, "
            "feature-search") in missing.stderr
    assert tasks_in_state(cli) == tasks


@pytest.mark.parametrize("name", ["json", "markdown", "speckit", "xml", "taskmaster", "beads"])
def test_each_template_imports(cli, tmp_path, name):
    template = cli("plan", "template", "--format", name)
    assert template.returncode == 0, template.stderr
    plan = tmp_path / "plan"  # no extension: the format is told from the content
    plan.write_text(template.stdout)
    checked = cli("plan", "validate", "-f", str(plan))
    assert checked.returncode == 0 and checked.stdout.startswith(f"format: {name}\n"), checked
    imported = cli("plan", "import", "-f", str(plan))
    assert imported.returncode == 0, imported.stderr
    tasks = tasks_in_state(cli)
    assert len(tasks) >= 3 and all(t["status"] == "pending" for t in tasks.values())
    assert list(tasks.values())[-1]["dependencies"]


def test_template_defaults_to_markdown_and_refuses_unknown_formats(cli):
    assert "## Task 1: " in cli("plan", "template").stdout
    unknown = cli("plan", "template", "--format", "yaml")
    assert unknown.returncode != 0 and "unknown format 'yaml'" in unknown.stderr


def test_graph_draws_the_live_plan_with_statuses(cli):
    assert cli("plan", "graph").returncode == 1  # no workflow yet
    assert cli("plan", "import", "-f", str(PLANS / "xml-task-packets.xml")).returncode == 0
    mermaid = cli("plan", "graph")
    assert mermaid.returncode == 0, mermaid.stderr
    lines = mermaid.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert '  n0["design: Design the limiter"]:::completed' in lines
    assert '  n4["review: Review everything"]:::pending' in lines
    assert "  n2 --> n4" in lines and "  n3 --> n4" in lines
    assert any(line.startswith("  classDef completed ") for line in lines)
    dot = cli("plan", "graph", "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph plan {\n")
    assert '  "design" -> "core";\n' in dot.stdout
    assert 'tooltip="completed"' in dot.stdout


@pytest.mark.parametrize("name", ["taskmaster-tagged.json", "beads-issues.jsonl",
                                  "integration-test-plan.md"])
@pytest.mark.parametrize("export_format", ["json", "markdown"])
def test_export_reimports_to_the_same_tasks_and_edges(cli, tmp_path, name, export_format):
    assert cli("plan", "import", "-f", str(PLANS / name)).returncode == 0
    before = tasks_in_state(cli)
    exported = cli("plan", "export", "--format", export_format)
    assert exported.returncode == 0, exported.stderr
    plan = tmp_path / "exported"
    plan.write_text(exported.stdout)
    imported = cli("plan", "import", "-f", str(plan), "--force")
    assert imported.returncode == 0, imported.stderr
    after = tasks_in_state(cli)
    assert list(after) == list(before)
    for task_id, task in before.items():
        assert after[task_id]["dependencies"] == task["dependencies"], task_id
        assert after[task_id]["description"] == task["description"], task_id
        if export_format == "json":
            assert after[task_id]["status"] == task["status"], task_id


def test_markdown_export_refuses_ids_it_cannot_write(cli):
    assert cli("plan", "import", "-f", str(PLANS / "xml-task-packets.xml")).returncode == 0
    exported = cli("plan", "export", "--format", "markdown")
    assert exported.returncode == 1
    assert "cannot export task 'design' as markdown" in exported.stderr
