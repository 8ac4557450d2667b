"""pytest set-up for the harness suite: the package under test is build/python, unless the
caller's PYTHONPATH already provides one (the sanitizer runs point it at their own build)."""

import importlib.util
import os
import sys

_BUILD_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", "build", "python")
# Prepending build/python unconditionally would shadow PYTHONPATH: `make test-tsan` after a
# `make build` would then test the uninstrumented module and report nothing.
if importlib.util.find_spec("harness") is None and os.path.isdir(_BUILD_PYTHON):
    sys.path.insert(0, os.path.abspath(_BUILD_PYTHON))
