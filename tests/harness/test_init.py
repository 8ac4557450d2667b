"""Issue 17: `harness init` sets a repository up for Claude Code or Codex without clobbering
what is there: run twice over a .claude/settings.json with the user's own hooks, a dry run, and
an uninstall that gives the user's bytes back."""

import json
import subprocess

import pytest

USER_SETTINGS = """{
  "permissions": {
    "allow": [
      "Bash(npm test:*)"
    ]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "./scripts/check-bash.sh"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ]
  }
}
"""
USER_CLAUDE_MD = "# My project\n\nRun `make test` before you commit.\n"


def _init(harness_bin, worktree, *args):
    return subprocess.run([harness_bin, "init", *args], cwd=worktree, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HARNESS_WORKTREE": str(worktree)})


def _snapshot(worktree):
    return {str(p.relative_to(worktree)): p.read_bytes() for p in sorted(worktree.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(worktree).parts}


@pytest.fixture
def claude_repo(git_worktree):
    (git_worktree / ".claude").mkdir()
    (git_worktree / ".claude" / "settings.json").write_text(USER_SETTINGS)
    (git_worktree / "CLAUDE.md").write_text(USER_CLAUDE_MD)
    return git_worktree


def test_init_merges_beside_the_users_settings_and_a_second_run_changes_nothing(harness_bin, claude_repo):
    first = _init(harness_bin, claude_repo)
    assert first.returncode == 0, first.stderr
    assert "updated .claude/settings.json" in first.stdout and "created .mcp.json" in first.stdout
    settings = json.loads((claude_repo / ".claude" / "settings.json").read_text())
    assert settings["permissions"] == {"allow": ["Bash(npm test:*)"]}
    assert settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == "./scripts/check-bash.sh"
    stop_commands = [h["command"] for g in settings["hooks"]["Stop"] for h in g["hooks"]]
    assert stop_commands[0] == "notify-send done" and stop_commands[1].endswith("harness hook stop")
    for event, verb in (("SessionStart", "session-start"), ("SubagentStop", "subagent-stop"),
                        ("PreCompact", "pre-compact")):
        assert settings["hooks"][event][0]["hooks"][0]["command"].endswith(f"harness hook {verb}")
    text = (claude_repo / ".claude" / "settings.json").read_text()
    assert text.startswith('{\n  "permissions": {\n    "allow": [') and text.endswith("}\n")
    server = json.loads((claude_repo / ".mcp.json").read_text())["mcpServers"]["harness"]
    assert server["args"] == ["mcp"] and server["command"].endswith("harness")
    claude_md = (claude_repo / "CLAUDE.md").read_text()
    assert claude_md.startswith(USER_CLAUDE_MD)
    assert "<!-- harness:begin" in claude_md and "harness git commit" in claude_md

    before = _snapshot(claude_repo)
    second = _init(harness_bin, claude_repo)
    assert second.returncode == 0, second.stderr
    assert "nothing to change" in second.stdout
    assert _snapshot(claude_repo) == before


def test_dry_run_prints_the_diff_and_writes_nothing(harness_bin, claude_repo):
    before = _snapshot(claude_repo)
    dry = _init(harness_bin, claude_repo, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "--- a/.claude/settings.json\n+++ b/.claude/settings.json\n" in dry.stdout
    assert "+++ b/.mcp.json" in dry.stdout and '+            "command": ' in dry.stdout
    assert "+<!-- harness:begin" in dry.stdout
    assert _snapshot(claude_repo) == before


def test_uninstall_gives_back_exactly_what_was_there(harness_bin, claude_repo):
    before = _snapshot(claude_repo)
    assert _init(harness_bin, claude_repo).returncode == 0
    undo = _init(harness_bin, claude_repo, "--uninstall")
    assert undo.returncode == 0, undo.stderr
    assert "removed .mcp.json" in undo.stdout
    assert _snapshot(claude_repo) == before
    assert "nothing of harness's to remove" in _init(harness_bin, claude_repo, "--uninstall").stdout


def test_uninstall_keeps_what_the_user_changed_since(harness_bin, claude_repo):
    assert _init(harness_bin, claude_repo).returncode == 0
    path = claude_repo / ".claude" / "settings.json"
    settings = json.loads(path.read_text())
    settings["model"] = "opus"
    settings["hooks"]["Stop"][1]["hooks"].append({"type": "command", "command": "say stopped"})
    path.write_text(json.dumps(settings, indent=2) + "\n")
    assert _init(harness_bin, claude_repo, "--uninstall").returncode == 0
    left = json.loads(path.read_text())
    assert left["model"] == "opus"
    assert [h["command"] for g in left["hooks"]["Stop"] for h in g["hooks"]] == ["notify-send done", "say stopped"]
    assert set(left["hooks"]) == {"PreToolUse", "Stop"}


def test_malformed_settings_name_the_file_and_nothing_is_written(harness_bin, claude_repo):
    (claude_repo / ".claude" / "settings.json").write_text('{\n  "hooks": {,\n}\n')
    before = _snapshot(claude_repo)
    bad = _init(harness_bin, claude_repo)
    assert bad.returncode == 1
    assert ".claude/settings.json: line 2" in bad.stderr, bad.stderr
    assert _snapshot(claude_repo) == before


def test_codex_gets_its_config_toml_and_agents_md(harness_bin, git_worktree):
    (git_worktree / "AGENTS.md").write_text("# Agents\n")
    assert _init(harness_bin, git_worktree, "--agent", "codex").returncode == 0
    config = (git_worktree / ".codex" / "config.toml").read_text()
    assert "[mcp_servers.harness]" in config and 'args = ["mcp"]' in config
    assert "harness task claim" in (git_worktree / "AGENTS.md").read_text()
    assert not (git_worktree / ".claude").exists()
    assert "nothing to change" in _init(harness_bin, git_worktree, "--agent", "codex").stdout
    assert _init(harness_bin, git_worktree, "--agent", "codex", "--uninstall").returncode == 0
    assert not (git_worktree / ".codex").exists()
    assert (git_worktree / "AGENTS.md").read_text() == "# Agents\n"
    assert _init(harness_bin, git_worktree, "--agent", "gemini").returncode == 2
