"""``python -m harness ARGS`` is ``harness ARGS``: the same C++ CLI, run in this process."""

import sys

from harness import _harness

if __name__ == "__main__":
    sys.stdout.flush()
    sys.exit(_harness.cli_main(sys.argv[1:]))
