"""harness: many agents, one plan.

A thin Python layer over the C++ core (the ``_harness`` extension): ``harness.state`` for the
task types and the state store, ``harness.daemon`` to embed the daemon, ``harness.client`` to
talk to one, and ``python -m harness`` for the CLI.
"""

import os as _os

from . import _harness

# Daemons started on demand from Python run the harness binary shipped in this package.
_harness.set_daemon_program(_os.path.join(_os.path.dirname(__file__), "bin", "harness"))

HarnessError = _harness.HarnessError

__all__ = ["HarnessError"]
