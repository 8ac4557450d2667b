"""Issue 18: `harness web`, black-box: the URL it prints, its token (none, wrong, right, as a
query parameter and as a header), /api/state, an event on /api/events after a claim, nothing
but GET, and the page in headless Chromium (tests/web, playwright-core) seeing a task change
state without a reload. One daemon and one dashboard for the module."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from harness.client import send_rpc

GIT = ["git", "-c", "user.name=harness-test", "-c", "user.email=test@localhost"]
WEB_TESTS = Path(__file__).resolve().parents[1] / "web"


def _wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def board(tmp_path_factory, harness_bin):
    repo = tmp_path_factory.mktemp("web") / "repo"
    repo.mkdir()
    subprocess.run(GIT + ["init", "-q"], cwd=repo, check=True)
    socket_path = f"/tmp/harness-test-{uuid.uuid4().hex[:12]}.sock"
    env = {"HARNESS_SOCKET": socket_path, "HARNESS_WORKTREE": str(repo), "PATH": os.environ["PATH"],
           "HOME": str(repo.parent), "HARNESS_WORKER_ID": "web-test"}

    def cli(*args, worker="web-test"):
        result = subprocess.run([harness_bin, *args], env={**env, "HARNESS_WORKER_ID": worker},
                                capture_output=True, text=True, timeout=60, cwd=repo)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    plan = repo.parent / "plan.json"
    plan.write_text(json.dumps({"tasks": [{"id": "t1"}, {"id": "t2", "dependencies": ["t1"]},
                                          {"id": "t3"}, {"id": "t4"}]}))
    cli("plan", "import", "-f", str(plan))  # starts the daemon
    web = subprocess.Popen([harness_bin, "web", "--port", "0"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=repo)
    url = web.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), (url, web.poll(), web.stderr.read() if web.poll() else "")
    parsed = urllib.parse.urlsplit(url)
    yield {"url": url, "port": parsed.port, "token": urllib.parse.parse_qs(parsed.query)["token"][0],
           "cli": cli, "env": env, "bin": harness_bin, "repo": repo, "process": web}
    web.terminate()
    assert web.wait(30) == 0
    send_rpc(socket_path, {"command": "shutdown"})


def _get(board, path, headers=None, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", board["port"], timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    response = c.getresponse()
    return response.status, response.read().decode()


def test_the_url_carries_a_128_bit_token(board):
    assert len(board["token"]) == 32 and int(board["token"], 16) >= 0
    assert board["port"] > 0


@pytest.mark.parametrize("path", ["/", "/api/state", "/api/events", "/favicon.ico"])
def test_without_the_right_token_every_path_is_refused(board, path):
    assert _get(board, path)[0] == 401
    assert _get(board, path + "?token=" + "0" * 32)[0] == 403
    assert _get(board, path, headers={"X-Harness-Token": board["token"][:-1]})[0] == 403


def test_the_state_is_json_for_the_view_and_the_dag(board):
    status, body = _get(board, "/api/state?token=" + board["token"])
    assert status == 200
    state = json.loads(body)
    assert state["status"]["total"] == 4 and state["status"]["ready"] >= 1
    assert {n["id"] for n in state["dag"]["nodes"]} == {"t1", "t2", "t3", "t4"}
    assert [c["depth"] for c in state["dag"]["columns"]] == [0, 1]
    status, body = _get(board, "/api/state", headers={"X-Harness-Token": board["token"]})
    assert status == 200 and json.loads(body)["status"]["total"] == 4


def test_nothing_changes_state(board):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, _ = _get(board, "/api/state?token=" + board["token"], method=method, body="{}")
        assert status == 405, method
        assert _get(board, "/api/state", method=method, body="{}")[0] == 401


def test_a_claim_arrives_as_an_event_with_a_state_hint(board):
    c = http.client.HTTPConnection("127.0.0.1", board["port"], timeout=30)
    c.request("GET", "/api/events?token=" + board["token"])
    response = c.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    assert response.readline().startswith(b": harness")  # the stream is open
    claimed = json.loads(board["cli"]("task", "claim", worker="sse-worker"))["data"]["task"]["id"]
    lines = []
    while not any(line.startswith("event: state") for line in lines):
        lines.append(response.readline().decode().rstrip("\n"))
    event = json.loads(next(line for line in lines if line.startswith("data: {\"ts\"")).removeprefix("data: "))
    assert (event["event"], event["task_id"], event["worker_id"]) == ("claim", claimed, "sse-worker")
    c.close()
    board["cli"]("task", "release", "--id", claimed, worker="sse-worker")


def test_a_port_in_use_is_an_error_that_says_so(board):
    taken = subprocess.run([board["bin"], "web", "--port", str(board["port"])], env=board["env"],
                           capture_output=True, text=True, timeout=60, cwd=board["repo"])
    assert taken.returncode == 1 and f":{board['port']}" in taken.stderr and "in use" in taken.stderr


def _node_modules():
    """Installs tests/web's pinned packages (npm ci, no browser download) when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed (scripts/bootstrap installs them)")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is needed (scripts/bootstrap installs it)")
    if not (WEB_TESTS / "node_modules" / "playwright-core").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_TESTS, check=True, timeout=300,
                       env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}, capture_output=True)


def test_the_page_shows_a_claim_and_a_completion_live_in_chromium(board):
    _node_modules()
    # t1 must be ready for the page; the claims above gave theirs back.
    run = subprocess.run(["node", str(WEB_TESTS / "dashboard.test.mjs"), board["url"]],
                         env={**board["env"], "HARNESS_BIN": board["bin"], "HARNESS_WORKER_ID": "browser-test"},
                         capture_output=True, text=True, timeout=180, cwd=WEB_TESTS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "dashboard ok" in run.stdout
