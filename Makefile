# Two entry points that work on a fresh machine with Python 3.11 and pip:
#   make demo   installs drumkit in .venv and scores the bundled example model
#   make test   installs the test dependencies in .venv and runs the suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test bench bench-server clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch==2.13.0 first: pip takes that CPU build from this machine's disk, and the extras' `torch>=2.2`
# is then satisfied (a bare `torch` would pull a CUDA build of several GB).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,all]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[sklearn]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/drumkit score --code-dir examples/iris --input examples/iris/sample.csv

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/score_bench.py

# wrk (Debian's package) when it can be installed; otherwise the script's Python load generator.
bench-server: $(VENV)/.installed-test
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: using the Python load generator"
	$(BIN)/python benchmarks/server_bench.py --repeat 2 --with-drum

clean:
	rm -rf $(VENV) build *.egg-info
