"""Issue 17: `harness mcp`, the Model Context Protocol server on stdio. Spoken to line by line
as a client would, then driven by the official TypeScript SDK (tests/mcp/drain.mjs), then seen
from the Claude Code hooks of the agent it serves."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MCP_DIR = Path(__file__).resolve().parents[1] / "mcp"
TOOLS = ["claim", "complete", "fail", "release", "heartbeat", "status", "show", "add"]


class McpProcess:
    """`harness mcp` on pipes: send() writes one message, reply() reads one line."""

    def __init__(self, harness_bin, env, cwd):
        self.proc = subprocess.Popen([harness_bin, "mcp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=cwd)
        self.next_id = 0

    def send(self, method, params=None, notification=False):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notification:
            self.next_id += 1
            message["id"] = self.next_id
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def reply(self):
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def request(self, method, params=None):
        self.send(method, params)
        reply = self.reply()
        assert reply["id"] == self.next_id
        return reply

    def tool(self, name, **arguments):
        return self.request("tools/call", {"name": name, "arguments": arguments})["result"]

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def mcp_env(harness_bin, git_worktree, tmp_path, socket_path, cli_env):
    """The environment of an MCP server for a worktree whose plan is tasks t1..t4 (imported
    with the CLI, which starts the daemon the servers then reach)."""
    env = cli_env(git_worktree, socket_path, HARNESS_WORKER_ID=None, HARNESS_WORKER_ID_FILE=None)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": {f"t{i}": {"description": f"task {i}", "dependencies": []}
                                          for i in range(1, 5)}}))
    imported = subprocess.run([harness_bin, "plan", "import", "--file", str(plan)], env=env,
                              cwd=git_worktree, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    return env


def test_stdio_protocol_as_a_client_speaks_it(harness_bin, git_worktree, mcp_env):
    mcp = McpProcess(harness_bin, mcp_env, git_worktree)
    init = mcp.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "pytest", "version": "1"}})
    assert init["result"]["protocolVersion"] == "2025-06-18"
    assert "tools" in init["result"]["capabilities"]
    mcp.send("notifications/initialized", notification=True)
    # Notifications get no answer: the next line is the ping's.
    assert mcp.request("ping")["result"] == {}

    listed = mcp.request("tools/list")["result"]
    assert [t["name"] for t in listed["tools"]] == TOOLS
    assert len(json.dumps(listed, separators=(",", ":"))) < 4096
    assert mcp.request("prompts/get", {"name": "x"})["error"]["code"] == -32601
    assert mcp.request("tools/call", {"name": "nope", "arguments": {}})["error"]["code"] == -32602
    assert mcp.request("tools/call", {"name": "claim", "arguments": {"wait": -1}})["error"]["code"] == -32602

    assert mcp.tool("add", id="first", description="urgent", priority=9)["structuredContent"] == {"task_id": "first"}
    assert mcp.tool("add", id="then", description="second", priority=8, dependencies=["first"])["structuredContent"]["task_id"] == "then"
    claim = mcp.tool("claim")
    assert claim["structuredContent"]["task"]["id"] == "first"
    assert "lease" not in claim["structuredContent"]
    assert json.loads(claim["content"][0]["text"]) == claim["structuredContent"]
    # Not held: an error result the agent can read, not a protocol error.
    refused = mcp.tool("complete", task_id="t1")
    assert refused["isError"] is True and refused["content"][0]["text"]
    done = mcp.tool("complete", next=True)
    assert done["structuredContent"]["task_id"] == "first"
    assert done["structuredContent"]["next"]["task"]["id"] == "then"
    assert mcp.tool("show", task_id="then")["structuredContent"]["status"] == "running"
    released = mcp.tool("release", reason="no time")
    assert released["structuredContent"] == {"task_id": "then"}
    status = mcp.tool("status")["structuredContent"]
    assert status["completed"] == 1 and status["pending"] == 5 and status["held"] is None
    assert status["worker_id"].startswith("mcp-pytest-")
    mcp.close()


def test_a_newer_client_gets_the_latest_version_and_an_older_one_text(harness_bin, git_worktree, mcp_env):
    mcp = McpProcess(harness_bin, mcp_env, git_worktree)
    assert mcp.request("initialize", {"protocolVersion": "2099-01-01", "capabilities": {}})["result"]["protocolVersion"] >= "2025-06-18"
    mcp.close()
    old = McpProcess(harness_bin, mcp_env, git_worktree)
    assert old.request("initialize", {"protocolVersion": "2024-11-05", "capabilities": {}})["result"]["protocolVersion"] == "2024-11-05"
    assert all("outputSchema" not in t for t in old.request("tools/list")["result"]["tools"])
    old.close()


def _npm_ci():
    if (MCP_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is missing: scripts/bootstrap installs nodejs and npm")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=MCP_DIR, check=True,
                   capture_output=True, timeout=600)


def test_the_official_sdk_drains_a_plan_with_two_clients(harness_bin, git_worktree, mcp_env):
    _npm_ci()
    run = subprocess.run(["node", str(MCP_DIR / "drain.mjs")], cwd=git_worktree,
                         env={**mcp_env, "HARNESS_BIN": harness_bin}, capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert sorted(summary["done_a"] + summary["done_b"]) == [f"t{i}" for i in range(1, 9)]
    assert summary["list_bytes"] < 4096
    assert "not held" in summary["not_held"] or "t1" in summary["not_held"]


def test_the_stop_hook_sees_what_the_agents_mcp_server_holds(harness_bin, git_worktree, mcp_env):
    # An agent (this script) runs `harness mcp` and, through a shell, `harness hook stop`, as
    # Claude Code does: the hook must count the MCP server's task as the session's.
    agent = (
        "import json, subprocess, sys\n"
        "bin, payload = sys.argv[1], sys.argv[2]\n"
        "mcp = subprocess.Popen([bin, 'mcp'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
        "def ask(i, method, params):\n"
        "    mcp.stdin.write(json.dumps({'jsonrpc': '2.0', 'id': i, 'method': method, 'params': params}) + '\\n')\n"
        "    mcp.stdin.flush()\n"
        "    return json.loads(mcp.stdout.readline())\n"
        "ask(1, 'initialize', {'protocolVersion': '2025-06-18', 'capabilities': {}, 'clientInfo': {'name': 'claude-code'}})\n"
        "print(ask(3, 'tools/call', {'name': 'claim', 'arguments': {}})['result']['structuredContent']['task']['id'])\n"
        "stop = subprocess.run(['sh', '-c', 'exec \"$0\" hook stop', bin], input=payload, capture_output=True, text=True)\n"
        "print(stop.stdout.strip() or '-')\n"
        "mcp.stdin.close(); mcp.wait()\n"
    )
    payload = json.dumps({"session_id": "0d4c1f5e-0000-4000-8000-000000000001",
                          "transcript_path": "/tmp/t.jsonl", "cwd": str(git_worktree),
                          "hook_event_name": "Stop", "stop_hook_active": False})
    out = subprocess.run([sys.executable, "-c", agent, harness_bin, payload], capture_output=True,
                         text=True, env=mcp_env, cwd=git_worktree, timeout=120)
    assert out.returncode == 0, out.stderr
    task_id, decision = out.stdout.strip().split("\n")
    assert task_id == "t1"
    decision = json.loads(decision)
    assert decision["decision"] == "block" and "task t1" in decision["reason"]
    assert "the complete tool of the harness MCP server" in decision["reason"]


def test_an_agent_can_start_the_plan_in_a_fresh_repository(harness_bin, git_worktree, socket_path, cli_env):
    env = cli_env(git_worktree, socket_path, HARNESS_WORKER_ID="agent-1")
    mcp = McpProcess(harness_bin, env, git_worktree)
    mcp.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}})
    assert mcp.tool("status")["structuredContent"] == {"total": 0, "worker_id": "agent-1", "held": None}
    assert mcp.tool("add", id="first", description="the first task")["structuredContent"] == {"task_id": "first"}
    assert mcp.tool("add", id="second", description="then", dependencies=["first"])["structuredContent"] == {"task_id": "second"}
    assert mcp.tool("claim")["structuredContent"]["task"]["id"] == "first"
    mcp.close()
