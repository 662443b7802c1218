# The project's commands. `make up` and `make test` work on a fresh machine with Python 3.11+:
# they install uv when it is missing and sync the locked environment first.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
SYNC := $(UV) sync --locked --all-extras
PYTEST_ARGS ?=

.PHONY: help uv sync up test test-fast test-reliability lint format typecheck bench browser-deps clean

help:
	@echo "make up | test | lint | typecheck | bench | test-reliability | format | clean"

uv:  ## install uv when it is missing (from PyPI, the only registry we need)
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --user uv 2>/dev/null || \
		$(PYTHON) -m pip install --quiet --user --break-system-packages uv

sync: uv
	$(SYNC)

up: sync  ## run the whole system on embedded defaults (SQLite, local storage)
	$(UV) run --no-sync marketing-agent up

test: sync  ## the full suite (PostgreSQL tests skip outside CI when no server answers)
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

test-fast: sync
	$(UV) run --no-sync pytest -m "not slow and not browser and not llm_local" $(PYTEST_ARGS)

test-reliability: sync
	$(UV) run --no-sync pytest tests/reliability -m reliability $(PYTEST_ARGS)

lint: sync
	$(UV) run --no-sync ruff check src tests bench examples
	$(UV) run --no-sync ruff format --check src tests bench examples
	$(UV) run --no-sync lint-imports

format: sync
	$(UV) run --no-sync ruff check --fix src tests bench examples
	$(UV) run --no-sync ruff format src tests bench examples

typecheck: sync
	$(UV) run --no-sync mypy

bench: uv
	$(SYNC) --group bench
	$(UV) run --no-sync python -m bench

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache test-artifacts
