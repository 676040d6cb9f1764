# The two commands a newcomer needs: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test test-slow lint bench install system-deps stack-up stack-down clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[local,dev]"
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

# Debian packages the integration tests use as real peers (kcat: a Kafka client no one here wrote).
system-deps:
	@command -v kcat >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq kcat >/dev/null; \
	  else echo "kcat is missing: sudo apt-get install kcat" >&2; exit 1; fi; }

test: install system-deps
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install system-deps
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check divert schemas streams consumers tests bench

demo: install
	$(BIN)/divert stack up
	$(BIN)/divert db migrate
	@echo "The stack stays up: stop it with '$(BIN)/divert stack down'."

bench: install
	$(BIN)/python -m bench

stack-up: install
	$(BIN)/divert stack up

stack-down: install
	$(BIN)/divert stack down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
