"""Talking to a harness daemon from Python.

``send_rpc`` sends one raw request. ``HarnessClient`` has a typed method for every command of
the protocol (docs/protocol.md): it raises ``CommandError`` on an error reply, returns the
reply's data as the types below, and — as the CLI does — keeps the lease token of each task its
worker claims and sends it with that worker's later changes to the task, so a caller never
handles a token unless it wants to.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from harness import _harness
from harness.state import Task, TaskStatus, WorkflowState, _parse_time

PathLike = Union[str, Path]


def send_rpc(
    socket_path: PathLike,
    request: Dict[str, Any],
    worktree_root: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Sends one request and returns the reply envelope.

    With ``worktree_root``, a daemon for that worktree is started when none listens, and a
    daemon serving another worktree is refused (unless ``HARNESS_ANY_WORKTREE=1``). A request
    is never sent twice. Whole plans of any size a real plan has (update_state, plan_import
    with inline tasks, up to 64 MiB) go through; other requests are limited to 1 MiB.
    """
    worktree = None if worktree_root is None else str(worktree_root)
    # "command" goes first: a plan (update_state, plan_import with tasks) longer than 1 MiB is
    # only taken when the daemon reads which command it is before the rest (docs/protocol.md).
    if "command" in request:
        request = {"command": request["command"], **request}
    return json.loads(_harness.send_rpc(str(socket_path), json.dumps(request), worktree))


def get_worker_id() -> str:
    """$HARNESS_WORKER_ID, else the id kept in $HARNESS_WORKER_ID_FILE (created on first use),
    else this agent's: the nearest process at or above this one that is not a shell or wrapper
    (see README, "Worker identity")."""
    return _harness.get_worker_id()


class CommandError(_harness.HarnessError):
    """The daemon answered a request with an error reply. ``str()`` is ``"COMMAND: MESSAGE"``;
    ``command`` and ``message`` are the parts (e.g. ``"task_complete"`` and ``"Task a: lease
    superseded …"``)."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


@dataclass
class Claim:
    """A claim's reply. ``task`` is None when nothing is ready for the worker; then
    ``plan_complete`` says whether anything ever will be (False while tasks run, whose end may
    release work). With a task: its ``lease`` token, the ``attempt`` this claim is (1 for a
    first claim, one more for each new holder) and when the lease expires unless renewed."""

    task: Optional[Task]
    lease: Optional[str] = None
    attempt: int = 0
    lease_expires_at: Optional[datetime] = None
    is_retry: bool = False  # the worker already held this task: its lease was renewed
    is_reclaim: bool = False  # taken over from a holder whose lease expired
    plan_complete: bool = False

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "Claim":
        task = data.get("task")
        return cls(
            task=None if task is None else Task.from_dict(task),
            lease=data.get("lease") or None,
            attempt=data.get("attempt", 0),
            lease_expires_at=_parse_time(data.get("lease_expires_at")),
            is_retry=data.get("is_retry", False),
            is_reclaim=data.get("is_reclaim", False),
            plan_complete=data.get("plan_complete", False),
        )


@dataclass
class Completion:
    """A completion's reply: the task completed and, when ``next`` was asked, the next claim."""

    task_id: str
    next: Optional[Claim] = None


@dataclass
class Failure:
    """A failure's reply: the attempt that failed and what became of the task — ``pending``
    again, claimable from ``retry_at`` (the backoff), or ``failed`` once ``max_attempts``
    attempts failed."""

    task_id: str
    attempt: int
    status: TaskStatus
    retry_at: Optional[datetime] = None


@dataclass
class TaskView:
    """A task as ``show`` and ``list_tasks`` report it: the task (with its attempts, last error
    and lease expiry) and the failed tasks it waits on, directly or through others
    (``blocked_by``; empty when it is not blocked)."""

    task: Task
    blocked_by: List[str] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "TaskView":
        return cls(task=Task.from_dict(data), blocked_by=list(data.get("blocked_by") or []))


@dataclass
class CommandResult:
    """How an ``exec`` or ``git`` command ended (docs/protocol.md, "exec and git"). The streams
    are text, or bytes when the call asked for ``binary`` output. ``signal_name`` is set only
    when a signal ended the command; ``truncated`` when output was cut."""

    returncode: int
    stdout: Union[str, bytes]
    stderr: Union[str, bytes]
    duration_ms: int
    timed_out: bool
    truncated: bool
    signal_name: Optional[str] = None

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "CommandResult":
        decode = base64.b64decode if data.get("encoding") == "base64" else (lambda text: text)
        return cls(
            returncode=data["returncode"],
            stdout=decode(data["stdout"]),
            stderr=decode(data["stderr"]),
            duration_ms=data["duration_ms"],
            timed_out=data["timed_out"],
            truncated=data["truncated"],
            signal_name=data.get("signal_name"),
        )


PlanTasks = Union[WorkflowState, Mapping[str, Any], Sequence[Any]]


def _plan_tasks(tasks: PlanTasks) -> Any:
    """A plan's tasks as the protocol takes them: a workflow (with its goal), or a map or list
    of task objects."""
    if isinstance(tasks, WorkflowState):
        return tasks.to_dict()
    if isinstance(tasks, Mapping):
        return {key: t.to_dict() if isinstance(t, Task) else t for key, t in tasks.items()}
    return [t.to_dict() if isinstance(t, Task) else t for t in tasks]


class HarnessClient:
    """A worker's (or an operator's) connection to the daemon on ``socket_path``.

    With ``worktree_root``, a daemon for that worktree is started when none listens, and a
    daemon serving another worktree is refused, as with ``send_rpc``. ``worker_id`` is who this
    client claims and completes as (default: ``get_worker_id()``, resolved on first use).

    Lease tokens: a claim's token is kept per task for this client's worker and sent with its
    ``complete``/``heartbeat``/``release``/``fail`` of that task (a ``lease`` argument overrides
    it); it is dropped when the task leaves the worker's hands. A token the daemon no longer
    holds current (the task passed to another holder, even one of the same name) makes those
    calls fail with "lease superseded". Tokens live in this object: another process (the CLI)
    does not see them, and a task this client did not claim is changed without one (the
    daemon then checks only that ``worker_id`` holds it).

    Every method raises ``CommandError`` when the daemon refuses the request,
    ``ConnectionRefusedError`` when no daemon listens (and none may be started), and
    ``HarnessError`` when the connection fails.
    """

    def __init__(
        self,
        socket_path: PathLike,
        worktree_root: Optional[PathLike] = None,
        worker_id: Optional[str] = None,
    ) -> None:
        self.socket_path = str(socket_path)
        self.worktree_root = None if worktree_root is None else str(worktree_root)
        self._worker_id = worker_id
        self._leases: Dict[str, str] = {}

    @property
    def worker_id(self) -> str:
        if self._worker_id is None:
            self._worker_id = get_worker_id()
        return self._worker_id

    def lease_of(self, task_id: str) -> Optional[str]:
        """The lease token this client keeps for ``task_id``, if it claimed it."""
        return self._leases.get(task_id)

    def request(self, command: str, **fields: Any) -> Any:
        """Sends ``command`` with ``fields`` (those that are None are left out) and returns the
        reply's ``data``; raises ``CommandError`` on an error reply."""
        body = {"command": command, **{k: v for k, v in fields.items() if v is not None}}
        reply = send_rpc(self.socket_path, body, self.worktree_root)
        if reply.get("status") != "ok":
            raise CommandError(command, reply.get("message", f"unexpected reply {reply!r}"))
        return reply.get("data")

    # The daemon and the plan.

    def ping(self) -> Dict[str, Any]:
        """``{"running": True, "pid": N, "worktree": W}``."""
        return self.request("ping")

    def get_state(self) -> Optional[WorkflowState]:
        """The whole workflow (tasks with every field, and the goal), or None."""
        data = self.request("get_state")
        return None if data is None else WorkflowState.from_dict(data)

    def status(self) -> Optional[Dict[str, Any]]:
        """Task counts by status with commit and command counters, or None without a workflow
        (docs/protocol.md, ``status``)."""
        return self.request("status")

    def update_state(self, state: WorkflowState) -> WorkflowState:
        """Replaces the workflow's tasks with ``state``'s, unconditionally; returns it as
        stored."""
        data = self.request("update_state", updates=state.to_dict())
        return WorkflowState.from_dict(data)

    def plan_import(
        self,
        tasks: Optional[PlanTasks] = None,
        *,
        file: Optional[PathLike] = None,
        format: Optional[str] = None,
        parallel: bool = False,
        tag: Optional[str] = None,
        force: bool = False,
    ) -> int:
        """Replaces a finished workflow with ``tasks`` (a WorkflowState, a map or a list of
        tasks) or with the plan ``file`` the daemon reads itself (made absolute here) in
        ``format`` (detected when None), markdown's ``parallel``, taskmaster's ``tag``.
        Without ``force`` a workflow with pending or running tasks is not replaced. Returns how
        many tasks were imported."""
        if (tasks is None) == (file is None):
            raise ValueError("plan_import takes tasks or a file, not both or neither")
        data = self.request(
            "plan_import",
            tasks=None if tasks is None else _plan_tasks(tasks),
            file=None if file is None else str(Path(file).absolute()),
            format=format,
            parallel=parallel or None,
            tag=tag,
            force=force or None,
        )
        return data["imported"]

    def plan_reset(self) -> None:
        """Removes the workflow (and every task in it)."""
        self.request("plan_reset")
        self._leases.clear()

    # A worker's tasks.

    def claim(self, wait: Optional[float] = None, role: Optional[str] = None) -> Claim:
        """Claims the next ready task for this worker (the one it already holds, renewed, if
        any). ``wait``: block up to that many seconds for a task to become ready; the call
        returns at once when the plan is complete. ``role``: only tasks of that role or of
        none. Keeps the lease of the task it returns."""
        data = self.request("task_claim", worker_id=self.worker_id, wait=wait, role=role)
        claim = Claim.from_data(data)
        self._keep(claim)
        return claim

    def complete(
        self,
        task_id: str,
        *,
        lease: Optional[str] = None,
        commit: Optional[str] = None,
        force: bool = False,
        next: bool = False,
        verify: bool = True,
        cwd: Optional[PathLike] = None,
        role: Optional[str] = None,
    ) -> Completion:
        """Completes ``task_id``, which this worker holds, once its verification commands pass
        in ``cwd`` (default: the worktree); a failing one raises ``CommandError`` with each
        command's status and output, and the task stays held. ``commit``: HEAD at completion,
        for the check-commit hook. ``force``: an operator completes a task it does not hold;
        ``verify=False``: skip the verification commands (both logged). ``next``: claim the
        next task (of ``role``) in the same round trip; its claim is ``Completion.next``."""
        data = self.request(
            "task_complete",
            task_id=task_id,
            worker_id=self.worker_id,
            lease=self._lease_for(task_id, lease),
            commit=commit,
            force=force or None,
            next=next or None,
            verify=None if verify else False,
            cwd=None if cwd is None else str(cwd),
            role=role,
        )
        self._leases.pop(task_id, None)
        following = data.get("next")
        completion = Completion(data["task_id"],
                                None if following is None else Claim.from_data(following))
        if completion.next is not None:
            self._keep(completion.next)
        return completion

    def heartbeat(self, task_id: str, *, lease: Optional[str] = None) -> datetime:
        """Renews the lease of ``task_id``, which this worker holds; returns its new expiry."""
        data = self.request("task_heartbeat", task_id=task_id, worker_id=self.worker_id,
                            lease=self._lease_for(task_id, lease))
        return _parse_time(data["lease_expires_at"])

    def release(self, task_id: str, reason: Optional[str] = None, *,
                lease: Optional[str] = None) -> None:
        """Gives ``task_id`` back: pending again, no attempt counted."""
        self.request("task_release", task_id=task_id, worker_id=self.worker_id,
                     lease=self._lease_for(task_id, lease), reason=reason)
        self._leases.pop(task_id, None)

    def fail(self, task_id: str, reason: str, *, lease: Optional[str] = None) -> Failure:
        """Fails this attempt at ``task_id`` (``reason`` becomes its ``last_error``): pending
        again after a backoff while attempts remain, else ``failed``."""
        data = self.request("task_fail", task_id=task_id, worker_id=self.worker_id,
                            lease=self._lease_for(task_id, lease), reason=reason)
        self._leases.pop(task_id, None)
        return Failure(data["task_id"], data["attempt"], TaskStatus(data["status"]),
                       _parse_time(data.get("retry_at")))

    # An operator's.

    def retry(self, task_id: str) -> None:
        """Makes the failed ``task_id`` (and what it blocked) claimable again, attempts reset."""
        self.request("task_retry", task_id=task_id)

    def show(self, task_id: str) -> TaskView:
        """One task, with its attempts, last error, lease expiry and ``blocked_by``."""
        return TaskView.from_data(self.request("task_show", task_id=task_id))

    def list_tasks(self, status: Optional[Union[TaskStatus, str]] = None) -> List[TaskView]:
        """The tasks in plan order, only those of ``status`` when given."""
        data = self.request("task_list", status=None if status is None else TaskStatus(status).value)
        return [TaskView.from_data(task) for task in data["tasks"]]

    def add(self, task: Union[Task, Dict[str, Any]]) -> str:
        """Adds ``task`` to the live plan (its dependencies must exist; validated like any
        plan); returns its id."""
        body = task.to_dict() if isinstance(task, Task) else task
        return self.request("task_add", task=body)["task_id"]

    # Commands.

    def exec(
        self,
        args: Sequence[str],
        *,
        cwd: Optional[PathLike] = None,
        env: Optional[Mapping[str, str]] = None,
        env_complete: bool = False,
        timeout: Optional[float] = None,
        exclusive: bool = False,
        binary: bool = False,
    ) -> CommandResult:
        """Runs ``args`` (never through a shell) in ``cwd`` (default: the worktree) with
        ``env`` merged over the daemon's environment (or, with ``env_complete``, as the whole
        environment), within ``timeout`` seconds (default 600), under the git mutex when
        ``exclusive``. ``binary``: the streams come back as bytes, byte for byte. Sent as this
        worker, so it renews the lease of a task the worker holds. A command that runs and
        fails is a result, not an error."""
        return self._command("exec", args, cwd, env, env_complete, timeout, binary, exclusive)

    def git(
        self,
        args: Sequence[str],
        *,
        cwd: Optional[PathLike] = None,
        env: Optional[Mapping[str, str]] = None,
        env_complete: bool = False,
        timeout: Optional[float] = None,
        binary: bool = False,
    ) -> CommandResult:
        """Runs ``git ARGS`` (without "git") serialised with every other git call, as ``exec``
        does (default timeout 120 s); what the daemon refuses is in docs/protocol.md, "git"."""
        return self._command("git", args, cwd, env, env_complete, timeout, binary, False)

    def shutdown(self) -> None:
        """Stops the daemon once it has replied."""
        self.request("shutdown")

    def _command(self, command: str, args: Sequence[str], cwd: Optional[PathLike],
                 env: Optional[Mapping[str, str]], env_complete: bool, timeout: Optional[float],
                 binary: bool, exclusive: bool) -> CommandResult:
        data = self.request(
            command,
            args=list(args),
            cwd=None if cwd is None else str(cwd),
            env=None if env is None else dict(env),
            env_complete=env_complete or None,
            timeout=timeout,
            exclusive=exclusive or None,
            output_encoding="base64" if binary else None,
            worker_id=self.worker_id,
        )
        return CommandResult.from_data(data)

    def _lease_for(self, task_id: str, lease: Optional[str]) -> Optional[str]:
        return lease if lease is not None else self._leases.get(task_id)

    def _keep(self, claim: Claim) -> None:
        if claim.task is not None and claim.lease:
            self._leases[claim.task.id] = claim.lease
