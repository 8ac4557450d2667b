# Entry points; each one bootstraps (installs missing Debian packages) and builds first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: configure build build-all install test test-asan test-tsan demo bench fuzz format clean bootstrap

bootstrap:
	@scripts/bootstrap

# `make build` and `make demo` build the binary and the Python package only; the tests and
# benchmarks (most of the compile time) are built by the targets that run them.
configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target harness harness_python

build-all: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Puts harness on PATH: $(PREFIX)/bin/harness (PREFIX defaults to /usr/local).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

test: build-all
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	@if [ -d tests/harness ]; then \
	  PYTHONPATH=$(CURDIR)/$(BUILD_DIR)/python /usr/bin/python3 -m pytest -q tests/harness; \
	fi

# The whole suite (C++ and pytest) under sanitizers, each in its own build directory. The
# Python interpreter is not instrumented, so the runtime (and libstdc++, whose __cxa_throw it
# intercepts) is preloaded into it. The pytest flows that start `python -m harness` with an
# environment of their own cannot carry the preload; the C++ suite runs that same CLI code
# through the instrumented binary instead. Only what the suites run is built (no benchmarks).
# HARNESS_STRESS_SCALE (e.g. 0.25, as CI sets it) runs the stress tests smaller; see
# docs/reliability.md, "Sanitizers".
#
# A sanitizer report stops pytest at once, while pytest still holds fd 2 for its output capture,
# which would swallow the report: the pytest runs write reports to <build dir>/pytest-san.<pid>
# instead, and print them when they fail. TSan: tests/tsan.supp lists the false positives of
# the uninstrumented libstdc++ (proof there and in docs/reliability.md).
# The tests that drive other programs of their own (Chromium, Node's MCP SDK, tmux, a PostgreSQL
# server) are left out: the preloaded runtime would be injected into those too. What they reach
# of harness's C++ (the dashboard server, the MCP server, the status view, the PostgreSQL
# engine) runs under the sanitizers in the ctest suite.
SAN_PYTEST = /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/harness \
  --ignore=tests/harness/test_web.py --ignore=tests/harness/test_postgres.py \
  -k "not cli and not worker_id_stability and not official_sdk and not terminal and not watch"
SAN_TARGETS = harness_tests harness_bench_tests harness_python
LIBSTDCXX = $$(g++ -print-file-name=libstdc++.so)
TSAN_SUPPRESSIONS = suppressions=$(CURDIR)/tests/tsan.supp

# At -O0 (Debug): g++ compiles with ASan and UBSan several times faster than at -O2, and the
# suite runs only a little longer.
test-asan: bootstrap
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHARNESS_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS) --target $(SAN_TARGETS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)
	@rm -f build-asan/pytest-san.*
	@LD_PRELOAD="$$(g++ -print-file-name=libasan.so) $(LIBSTDCXX)" \
	  ASAN_OPTIONS=detect_leaks=0:log_path=$(CURDIR)/build-asan/pytest-san \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(CURDIR)/build-asan/pytest-san \
	  PYTHONPATH=$(CURDIR)/build-asan/python $(SAN_PYTEST) || { cat build-asan/pytest-san.* 2>/dev/null; exit 1; }

# TSan stays at -O2: its documentation asks for optimisation to get reasonable speed.
test-tsan: bootstrap
	@cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHARNESS_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS) --target $(SAN_TARGETS)
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:$(TSAN_SUPPRESSIONS) \
	  ctest --output-on-failure -j $(JOBS)
	@rm -f build-tsan/pytest-san.*
	@LD_PRELOAD="$$(g++ -print-file-name=libtsan.so) $(LIBSTDCXX)" \
	  TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0:$(TSAN_SUPPRESSIONS):log_path=$(CURDIR)/build-tsan/pytest-san \
	  PYTHONPATH=$(CURDIR)/build-tsan/python $(SAN_PYTEST) || { cat build-tsan/pytest-san.* 2>/dev/null; exit 1; }

demo: build
	@scripts/demo

bench: build-all
	@scripts/bench

# Each libFuzzer target for a bounded time (FUZZ_SECONDS each), built with clang.
fuzz: bootstrap
	@scripts/fuzz

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf $(BUILD_DIR)
