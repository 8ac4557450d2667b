# Entry points; each one bootstraps (installs missing Debian packages) and builds first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: build test demo bench format clean bootstrap

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	@if [ -d tests/harness ]; then \
	  PYTHONPATH=$(CURDIR)/$(BUILD_DIR)/python /usr/bin/python3 -m pytest -q tests/harness; \
	fi

demo: build
	@scripts/demo

bench: build
	@scripts/bench

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf $(BUILD_DIR)
