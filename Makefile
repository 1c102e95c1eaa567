# Sluice developer commands. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= ./.sluice
W ?= all

.PHONY: run test lint typecheck pytest bench bench-quick clean tools

$(STAMP): pyproject.toml setup.py $(wildcard src/sluice/*/_*.c)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/sluice server --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) tools
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Test tools from Debian (a browser for the web page, ClickHouse for its sink). Best effort:
# installed when missing and apt-get is usable as root; the tests that need them skip otherwise.
TOOLS := chromium chromium-driver clickhouse-server
tools:
	@missing=""; for t in chromium chromedriver clickhouse-server; do \
	  command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing test tools:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TOOLS) \
	    >/dev/null) || echo "Could not install $(TOOLS); the tests that need them skip."; \
	fi

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench run --workload $(W)

bench-quick: $(STAMP)
	$(BIN)/python -m bench run --quick --workload $(W)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
