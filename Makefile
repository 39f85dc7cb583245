# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Both create .venv and install the pinned dependencies first; nothing else is needed.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SRC := core api mobile_api edge routing labels vntime

.PHONY: install demo serve test lint fmt bench bench-ledger clean

$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hoso needs Python 3.11 or newer; got " + sys.version.split()[0])'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hoso demo

serve: $(STAMP)
	$(BIN)/hoso serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(SRC) tests bench

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger/bench_ledger.py

bench: bench-ledger
	$(BIN)/python bench/labels/bench_labels.py
	$(BIN)/python bench/routing/run.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
