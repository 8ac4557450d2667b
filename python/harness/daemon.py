"""The harness daemon, embedded in a Python process."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from harness import _harness


class HarnessDaemon:
    """A daemon serving ``worktree`` on ``socket_path``.

    Constructing it takes the lock of the worktree's state directory and binds (raises
    ``HarnessError`` mentioning "already running" when another daemon serves the worktree or
    answers on the socket). ``serve_forever()`` serves, with
    the GIL released, until ``shutdown()`` — callable from any thread — or a ``shutdown``
    request; it then returns within a second, having removed the socket and released the
    lock, so a new daemon may start on the same socket in the same process.
    """

    def __init__(self, socket_path: Union[str, Path], worktree: Union[str, Path]) -> None:
        self.socket_path = str(socket_path)
        self.worktree = str(worktree)
        self._daemon = _harness.Daemon(self.socket_path, self.worktree)

    def serve_forever(self) -> None:
        self._daemon.serve_forever()

    def shutdown(self) -> None:
        self._daemon.shutdown()
