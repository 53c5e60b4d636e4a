# Payment Gateway Microservices — one command to run, one to test.
#   make run    all nine processes on SQLite (embedded); set DATABASE_URL/REDIS_URL for the full stack
#   make test   every test of every member + the cross-service suite, on real PostgreSQL and Redis
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never

# Python 3.12 when present (the Docker images' version), else 3.11 with a note.
# (pyenv shims exist for versions that are not selected, so each candidate must actually run.)
PY312 := $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { command -v $$p || echo $$p; } && break; done)
PYTHON_BIN := $(if $(PY312),$(PY312),$(shell for p in python3.11 python3; do $$p -V >/dev/null 2>&1 && command -v $$p && break; done))
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON_BIN) -m uv
endif
VENV_PY := .venv/bin/python

.PHONY: help install run test lint migrate clean bench-gateway

help:
	@echo "make run          start every service + the provider sandbox (embedded: SQLite under .data/)"
	@echo "make test         run all tests (needs PostgreSQL and Redis; see README)"
	@echo "make lint         ruff + mypy"
	@echo "make migrate      apply every service's migrations (DATABASE_URL or SQLite)"
	@echo "make clean        remove .data/, caches and the virtualenv"
	@echo "make bench-gateway  gateway throughput/latency benchmark"

.venv/.synced: uv.lock pyproject.toml */pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || { echo "uv not found: installing it with pip"; $(PYTHON_BIN) -m pip install --quiet uv; }
	@if [ -z "$(PY312)" ]; then echo "note: Python 3.12 not found, using $(PYTHON_BIN) (the code supports 3.11; the images use 3.12)"; fi
	@$(UV) sync --frozen --all-packages --python "$(PYTHON_BIN)"
	@touch $@

install: .venv/.synced

run: install
	@$(VENV_PY) -m shared.devstack

migrate: install
	@$(VENV_PY) -c "from shared.devstack import Stack; Stack().migrate()"

test: install
	@$(VENV_PY) scripts/test_all.py $(ARGS)

lint: install
	@$(VENV_PY) -m ruff check .
	@$(VENV_PY) -m ruff format --check shared || true
	@$(VENV_PY) -m mypy shared/shared

bench-gateway: install
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx is required: apt-get install -y nginx"; exit 1; }
	@command -v wrk >/dev/null || echo "note: wrk not found (apt-get install -y wrk); using the slower Python load generator"
	@$(VENV_PY) bench/bench_gateway.py $(ARGS)

clean:
	rm -rf .data .venv .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
