"""Task types and the state store of a worktree.

The types are plain data; every rule (DAG validation, the claim policy, storage) lives in the
C++ core, which ``StateManager`` calls. Timestamps are timezone-aware UTC ``datetime`` values
with microsecond precision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from harness import _harness


class TaskStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def _parse_time(value: Optional[str]) -> Optional[datetime]:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _format_time(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:  # naive values are taken to be UTC, as the core does
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


@dataclass
class Task:
    id: str
    description: str = ""
    status: TaskStatus = TaskStatus.PENDING
    dependencies: List[str] = field(default_factory=list)
    started_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    claimed_by: Optional[str] = None
    timeout_seconds: int = 600
    instructions: Optional[str] = None
    command: Optional[List[str]] = None
    # Scheduling (docs/protocol.md, "Task"): higher priority is claimed first, then plan order;
    # a worker that asks for a role takes only tasks of that role or of none.
    priority: int = 0
    role: Optional[str] = None
    max_attempts: int = 3
    # The wait before attempt n+1 is retry_backoff_seconds × 2^(n−1) seconds, at most 600.
    retry_backoff_seconds: int = 5
    # The lease's state, kept by the daemon: attempts that ended without completion (a failure
    # or an expired lease), the last failure's reason, when the holder's lease ends, and when
    # a task waiting after a failure may be claimed again.
    attempts: int = 0
    last_error: Optional[str] = None
    lease_expires_at: Optional[datetime] = None
    retry_at: Optional[datetime] = None
    # The task packet: what the plan says for the agent that takes it; kept as given.
    model: Optional[str] = None
    input_context: Optional[str] = None
    output_contract: Optional[str] = None
    constraints: Optional[str] = None
    success_criteria: Optional[str] = None
    files_in_scope: Optional[List[str]] = None
    files_out_of_scope: Optional[List[str]] = None
    tools: Optional[List[str]] = None
    artifacts_to_read: Optional[List[str]] = None
    artifacts_to_write: Optional[List[str]] = None
    # Commands `task complete` runs before completing: argv lists (the daemon returns these),
    # or strings it splits like shell words — never run by a shell.
    verification_commands: Optional[List[Union[str, List[str]]]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise ValueError(f"a task's id must be a string, not {type(self.id).__name__}")
        if not self.id:
            raise ValueError("a task's id is empty")
        self.status = TaskStatus(self.status)

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "id": self.id,
            "description": self.description,
            "status": self.status.value,
            "dependencies": list(self.dependencies),
            "started_at": _format_time(self.started_at),
            "completed_at": _format_time(self.completed_at),
            "claimed_by": self.claimed_by,
            "timeout_seconds": self.timeout_seconds,
        }
        if self.instructions is not None:
            data["instructions"] = self.instructions
        if self.command is not None:
            data["command"] = list(self.command)
        # Like the daemon, the other fields only when set and not their default, so that a
        # plain task reads as it did before they existed.
        for name, default in _DEFAULTED_FIELDS.items():
            if getattr(self, name) != default:
                data[name] = getattr(self, name)
        for name in _TIME_FIELDS:
            if getattr(self, name) is not None:
                data[name] = _format_time(getattr(self, name))
        for name in _TEXT_FIELDS:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        for name in _LIST_FIELDS:
            if getattr(self, name) is not None:
                data[name] = list(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any], key: Optional[str] = None) -> "Task":
        """Reads a task; ``key`` is the id it is listed under in a map, where ``id`` may be
        omitted (the key is the id) but must match when given. Raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"a task must be an object, not {type(data).__name__}")
        task_id = data.get("id", key)
        if key is not None and task_id != key:
            raise ValueError(f"task '{key}': 'id' is '{task_id}' but it is listed under '{key}'")
        if task_id is None:
            raise ValueError("a task has no 'id'")
        return cls(
            id=task_id,
            description=data.get("description", ""),
            status=TaskStatus(data.get("status", "pending")),
            dependencies=list(data.get("dependencies") or []),
            started_at=_parse_time(data.get("started_at")),
            completed_at=_parse_time(data.get("completed_at")),
            claimed_by=data.get("claimed_by"),
            timeout_seconds=data.get("timeout_seconds", 600),
            instructions=data.get("instructions"),
            command=data.get("command"),
            **{name: data.get(name, default) for name, default in _DEFAULTED_FIELDS.items()},
            **{name: _parse_time(data.get(name)) for name in _TIME_FIELDS},
            **{name: data.get(name) for name in _TEXT_FIELDS + _LIST_FIELDS},
        )


# The fields Task.to_dict writes only when they differ from their default, by kind.
_DEFAULTED_FIELDS: Dict[str, int] = {
    "priority": 0, "max_attempts": 3, "retry_backoff_seconds": 5, "attempts": 0}
_TIME_FIELDS = ("lease_expires_at", "retry_at")
_TEXT_FIELDS = ("role", "last_error", "model", "input_context", "output_contract", "constraints",
                "success_criteria")
_LIST_FIELDS = ("files_in_scope", "files_out_of_scope", "tools", "artifacts_to_read",
                "artifacts_to_write", "verification_commands")


@dataclass
class WorkflowState:
    tasks: Dict[str, Task] = field(default_factory=dict)
    goal: Optional[str] = None  # what the plan is for (a plan's "Goal"), when it says

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "tasks": {task_id: task.to_dict() for task_id, task in self.tasks.items()}}
        if self.goal is not None:
            data["goal"] = self.goal
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "WorkflowState":
        """Reads ``{"tasks": {id: task}, "goal"?}`` or ``{"tasks": [task, ...]}`` (as the
        protocol accepts). Raises ValueError."""
        if not isinstance(data, dict) or "tasks" not in data:
            raise ValueError("a workflow is an object with 'tasks'")
        tasks = data["tasks"]
        if isinstance(tasks, dict):
            items = [Task.from_dict(task, key) for key, task in tasks.items()]
        elif isinstance(tasks, list):
            items = [Task.from_dict(task) for task in tasks]
        else:
            raise ValueError("'tasks' must be a map or a list of tasks")
        result: Dict[str, Task] = {}
        for task in items:
            if task.id in result:
                raise ValueError(f"Duplicate task id: {task.id}")
            result[task.id] = task
        return cls(tasks=result, goal=data.get("goal"))


class StateManager:
    """Reads and writes the workflow in the worktree's state database: ``state.db`` in
    ``.git/harness/`` (the worktree's git directory), or in ``<worktree>/.harness/`` outside git.

    It opens the same database as the daemon, so it may read while a daemon writes.
    """

    def __init__(self, worktree: Union[str, Path]) -> None:
        self.worktree = Path(worktree)

    def load(self) -> Optional[WorkflowState]:
        """The workflow, or None when there is none."""
        text = _harness.load_workflow(str(self.worktree))
        return None if text is None else WorkflowState.from_dict(json.loads(text))

    def save(self, state: WorkflowState) -> None:
        """Validates the plan and replaces the stored tasks with it.

        Raises ValueError naming the cycle or the missing dependency, or a running task
        without an owner (``claimed_by``); nothing is written then.
        """
        for task in state.tasks.values():
            if task.status is TaskStatus.RUNNING and not task.claimed_by:
                raise ValueError(f"Task {task.id} is running but has no owner (claimed_by)")
        _harness.save_workflow(str(self.worktree), json.dumps(state.to_dict()))
