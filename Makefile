# The quick start is `make run` and `make test`; both need only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
MOCK_PORT ?= 8001
ORCH_PORT ?= 8080

.PHONY: install run run-mock run-orchestrator test unit integration lint format demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

# Both services in the foreground; Ctrl-C stops both.
run: install
	PY=$(PY) HOST=$(HOST) MOCK_PORT=$(MOCK_PORT) ORCH_PORT=$(ORCH_PORT) scripts/run-local.sh

run-mock: install
	$(PY) -m mock_provider --host $(HOST) --port $(MOCK_PORT)

run-orchestrator: install
	$(PY) -m orchestrator --host $(HOST) --port $(ORCH_PORT)

# The README's test command, and what .ci/run runs.
test: install
	$(PY) -m pytest tests/unit tests/integration

unit: install
	$(PY) -m pytest tests/unit

integration: install
	$(PY) -m pytest tests/integration

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The five scenarios, narrated, against running services (`make run` or `make up`).
demo: install
	$(PY) -m tools.demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Docker Compose targets (up, down, logs, compose-test) and the benchmark (bench).
-include mk/compose.mk
-include mk/bench.mk
