# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test check lint bench classifier clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/keepgoing run

test: $(DEV_STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy
	$(BIN)/keepgoing check
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/keepgoing check

lint: $(DEV_STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/ruff format --check bot tests benchmarks
	$(BIN)/mypy

# Every benchmark, one table (~10 minutes); `BENCH_QUICK=1 make bench` for smaller sizes (CI-like runs).
bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

# Retrain the statistical crisis layer on the tuning tables (after editing dev.tsv or legacy.tsv).
classifier: $(DEV_STAMP)
	$(BIN)/python -m bot.safety.train

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
