# The two commands a newcomer needs: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# where the environment turns bytecode caching off, every test worker recompiles the project and
# re-rewrites every test module on each run (8–10 CPU-seconds a process)
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-unit test-slow lint bench install system-deps stack-up stack-down clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[local,dev]"
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use as real peers: kcat (a Kafka client no one here wrote), Prometheus
# and Alertmanager (promtool/amtool config checks, rule tests), Chromium (reports render with their
# charts). Node.js/npm run PGlite with TimescaleDB.
DEBIAN_PACKAGES := kcat prometheus prometheus-alertmanager chromium
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)" >&2; exit 1; fi; fi
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the TimescaleDB (PGlite) tests" >&2; exit 1; }

test: install system-deps
	$(BIN)/python -m pytest -q -m "not slow"

# the pure core and every package's doctests: no broker, no database, no Debian packages; the
# evaluation's long calibration runs (marked heavy) and the full property searches (a quarter of
# the examples here: hypothesis profile `unit`) are left to `make test`. Whole files go to one
# worker (--dist loadfile): a module's fixtures (suggesters, evaluations, real-data slices) are then
# built once, not once per worker
test-unit: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not heavy" --hypothesis-profile=unit tests/unit divert schemas streams consumers

test-slow: install system-deps
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check divert schemas streams consumers tests bench

# CITY=milwaukee make demo for another city; DEMO_ARGS=--exit to stop when the replay is stored
CITY ?= san_antonio
demo: install
	$(BIN)/divert demo --city $(CITY) $(DEMO_ARGS)

bench: install
	@$(BIN)/python -c "import quixstreams" 2>/dev/null || $(BIN)/pip install -q -e ".[local,dev,bench]"
	$(BIN)/python -m bench $(BENCH_ARGS)

stack-up: install
	$(BIN)/divert stack up

stack-down: install
	$(BIN)/divert stack down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
