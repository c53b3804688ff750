# Two commands on a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve build test lint docs bench loadtest clean shapes-version

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $@

build: $(STAMP)  ## build the graph into dist/
	$(BIN)/kg build

serve: build  ## build, then serve on http://127.0.0.1:8000
	$(BIN)/kg serve

test: $(TEST_STAMP)  ## install test dependencies and run the tests (one worker per core, a test file per worker)
	$(BIN)/python -m pytest -n auto --dist loadfile

docs: $(STAMP)  ## regenerate the schema section of data/README.md from data/tables-metadata.json
	$(BIN)/kg docs

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests

shapes-version: $(STAMP)  ## after changing ontology/shapes.ttl: make shapes-version VERSION=X.Y.Z
	@test -n "$(VERSION)" || { echo "usage: make shapes-version VERSION=X.Y.Z" >&2; exit 2; }
	$(BIN)/kg shapes --set-version $(VERSION)

clean:
	rm -rf dist .pytest_cache

bench: $(STAMP)  ## benchmarks on demand (never part of make test); writes bench/REPORT.md
	$(BIN)/pip install --quiet -e '.[bench,granian]'
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: using httpx"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

loadtest: build  ## 50 clients for 60 s on loopback; writes bench/LOADTEST.md
	$(BIN)/python bench/loadtest.py
