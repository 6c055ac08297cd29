# The two commands a new machine needs: `make run` and `make test`.
# Both build .venv themselves from the Python 3.11+ on PATH.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test bench soak clean venv postgres

# Reinstall only when the project's metadata changes (stamp files track it).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/hooksim serve --config $(CONFIG)

# The browser tests drive Debian's chromium; install it when missing (CI runs as root). Where
# it cannot be installed, the browser tests skip, except under CI, where they must run.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	command -v chromium >/dev/null || \
	  (export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q chromium) || \
	  [ -z "$$CI" ]

# The PostgreSQL variants of the storage tests run on a throwaway cluster (tests/pgcluster.py)
# made with Debian's postgresql: installed when missing under CI (which runs as root) or when
# asked with INSTALL_POSTGRES=1. Without it they skip, except under CI, where they must run.
postgres:
	@[ -n "$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || command -v initdb >/dev/null || \
	  [ -z "$$CI$$INSTALL_POSTGRES" ] || \
	  (export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q postgresql)

# Then the suites whose subject is time run again beside two CPU hogs: a suite that passes only
# when it has the machine to itself is broken (they run on the platform clock, never wall time).
BUSY_TESTS := tests/loadtest tests/dispatcher/test_platform_clock.py tests/dispatcher/test_streams.py

test: $(VENV)/.installed-test $(CHROMIUM) postgres
	$(BIN)/python -m tests.pgcluster $(BIN)/python -m pytest $(PYTEST_ARGS)
	HOOKSIM_TEST_CPU_HOGS=2 $(BIN)/python -m tests.pgcluster $(BIN)/python -m pytest -q $(BUSY_TESTS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(BENCH_ARGS)

# 30 minutes at 200 events/s with faults on the receiver (not in CI); SOAK_ARGS="--minutes 5".
soak: $(VENV)/.installed-test
	$(BIN)/python -m soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
