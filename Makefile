# The two commands a new user needs:  make run   and   make test
# Both create the virtualenv in .venv and install tickhub into it on first use.

PY ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test check bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "tickhub needs Python >= 3.11 on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/tickhub up

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (format and lint), mypy (src strict, tests and bench too), and the import contracts
# (`[tool.importlinter]` in pyproject.toml). `.pre-commit-config.yaml` runs the same.
check: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/candles.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
