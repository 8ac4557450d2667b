"""Talking to a harness daemon from Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

from harness import _harness


def send_rpc(
    socket_path: Union[str, Path],
    request: Dict[str, Any],
    worktree_root: Optional[Union[str, Path]] = None,
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
