# Two entry points that work on a fresh machine with Python 3.11 and pip:
#   make demo   installs drumkit in .venv and scores the bundled example model
#   make test   installs the test dependencies in .venv, runs the linters, then the suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test test-fast lint bench bench-server clean

# pip's "new release" notice is noise here; each long step says what it is doing before it starts.
export PIP_DISABLE_PIP_VERSION_CHECK = 1
PIP = $(BIN)/python -m pip install --quiet

$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# torch==2.13.0 first, so that the extras' `torch>=2.2` is already met. PyPI's Linux wheel of torch
# brings CUDA libraries (GBs); `make test TORCH_INDEX=https://download.pytorch.org/whl/cpu` takes the
# CPU build instead (pip's own configuration, e.g. PIP_EXTRA_INDEX_URL, is honoured as well).
TORCH_INDEX ?=
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "==> installing torch (the largest download: a minute or more)"
	$(PIP) torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	@echo "==> installing drumkit with the test and framework extras (a minute or two)"
	$(PIP) -e '.[test,all]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	@echo "==> installing drumkit with scikit-learn"
	$(PIP) -e '.[sklearn]'
	touch $@

demo: $(VENV)/.installed-demo
	@echo "==> scoring examples/iris/sample.csv (then: source $(VENV)/bin/activate, or run $(BIN)/drumkit)"
	$(BIN)/drumkit score --code-dir examples/iris --input examples/iris/sample.csv

# Lint and types first (seconds), then every test.
test: lint
	$(BIN)/python -m pytest -q

# The inner loop: the unit tier only (no drumkit processes, no servers), well under 30 s.
test-fast: $(VENV)/.installed-test
	DRUMKIT_TEST_TIER=fast $(BIN)/python -m pytest -q -m "not e2e"

# ruff (lint, then the format check) and mypy over drumkit/, with the configuration in pyproject.toml.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check drumkit
	$(BIN)/ruff format --check drumkit
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/score_bench.py

# wrk (Debian's package) when it can be installed; otherwise the script's Python load generator.
bench-server: $(VENV)/.installed-test
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: using the Python load generator"
	$(BIN)/python benchmarks/server_bench.py --repeat 2 --with-drum

clean:
	rm -rf $(VENV) build *.egg-info
