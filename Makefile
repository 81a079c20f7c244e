# One entry point for people and CI. Every target bootstraps what it needs: a fresh clone
# on a fresh machine runs `make test` or `make dev` and nothing else.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Lambda runs python3.12: prefer the same interpreter so handler tests and .pyc match it.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3.13 python3; do \
	"$$p" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
REQS := requirements.txt requirements-lambda.txt requirements-dev.txt

.PHONY: help venv postgres chromium lint test openapi webclient build dev bench

help:
	@echo "make dev    - run the dev stack's region locally (make dev PORT=8090 for another port)"
	@echo "make test   - install everything needed, then ruff + the whole pytest suite"
	@echo "make lint   - ruff only"
	@echo "make openapi - regenerate openapi/openapi.json from the API routes (commit it)"
	@echo "make webclient - regenerate web/js/api-client.js from openapi/openapi.json (commit it)"
	@echo "make build  - stage Lambda code and build the per-architecture dependency layers"
	@echo "make bench  - print cold start, warm latency, throughput, sizes and synthesis time"

$(VENV)/.installed: $(REQS)
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 not found; install python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# The tests and `make dev` run a throwaway PostgreSQL server; install the binaries if absent.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
		echo "installing PostgreSQL server binaries (apt-get install postgresql)"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The web app's browser tests drive Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || { \
		echo "installing Chromium for the browser tests (apt-get install chromium)"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv postgres chromium lint
	$(VENV)/bin/pytest

# The dev stack's primary region on this machine, synthesized under mocks (no make build, no
# AWS account): PORT is the API's port, the web app takes PORT+1. Ctrl-C stops everything.
PORT ?= 8080
dev: venv postgres
	$(PY) -m local --port $(PORT)

# The API document API Gateway imports is generated from the handler's routes and committed;
# a test fails when the committed file is stale.
openapi: venv
	$(PY) -m handlers.api.openapi --output openapi/openapi.json
# The web app's API client is generated from that document (committed; a test checks it).
webclient: venv
	$(PY) scripts/gen_js_client.py --output web/js/api-client.js
# Lambda artifacts the stacks deploy (build/functions/<name>, build/layers/<arch>/python);
# pip downloads are cached in build/.pip-cache so a re-run takes seconds.
build: venv
	$(PY) scripts/build_lambda.py --output build

# Performance figures of this machine (cold init, warm latency, throughput, connections,
# artifact sizes, synthesis time); reuses build/ when present. BENCH_ARGS=--make-test also
# times the whole test suite. See docs/performance.md.
bench: venv postgres
	$(PY) -m bench $(BENCH_ARGS)
