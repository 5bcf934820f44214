# Fresh machine: only python3 is needed. `make demo` and `make test` each build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint proto bench venv clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cs-gateway demo

# The suite in worker processes (pytest-xdist), one per CPU up to 4; a test file stays on one
# worker (loadscope: its module fixtures are made once). `pytest` alone runs it in one process.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check .

proto: $(STAMP)
	$(BIN)/python proto/generate.py

bench: $(STAMP)
	$(BIN)/python bench/bench_apply.py
	$(BIN)/python bench/bench_audit.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
