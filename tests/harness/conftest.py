"""pytest set-up for the harness suite: the package under test is build/python."""

import os
import sys

_BUILD_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
if os.path.isdir(_BUILD_PYTHON) and os.path.abspath(_BUILD_PYTHON) not in map(os.path.abspath, sys.path):
    sys.path.insert(0, os.path.abspath(_BUILD_PYTHON))
