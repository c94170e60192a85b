# The commands people type. CI calls the same targets (.ci/run).
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
CANASTA := $(VENV)/bin/canasta
DEMO_DIR ?= var/demo
DEMO_HOUSEHOLDS ?= 2000

.PHONY: demo test lint bench install install-test clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

$(VENV)/.installed-test: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --all-extras
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## demo: a SQLite registry with a synthetic population, served on http://127.0.0.1:8000
demo: install
	$(CANASTA) demo --dir $(DEMO_DIR) --households $(DEMO_HOUSEHOLDS)

## test: the whole suite (PostgreSQL tests run where CANASTA_TEST_POSTGRES_URL or 127.0.0.1:5432 answers), in one
## process per core (PYTEST_WORKERS=0 runs it in one); a test file's tests stay together in one process
PYTEST_WORKERS ?= auto
test: install-test
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install
	$(CANASTA) bench import --size 100000 --json

clean:
	rm -rf $(VENV) $(TOOLS) var
