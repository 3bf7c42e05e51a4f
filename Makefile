# dualpath: `make run` starts the whole thing, `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-embedded test-all lint bench clean test-deps prereqs

install: $(STAMP)

# What the tests drive besides Python packages: Node.js with the npm packages in tests/node
# (a real Unleash server) and Chromium or Google Chrome (the browser tests). Checked before
# anything is installed or run, with one message saying what is missing and how to install
# it; `--install` runs npm ci, and apt-get for Chromium only when run as root.
prereqs:
	@$(PYTHON) -m tests.prereqs test --install

test-deps: prereqs install

$(STAMP): pyproject.toml
	@$(PYTHON) -m tests.prereqs run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# `make run DEMO_BUG=room-name-upper`: the same with one deliberate divergence (`dualpath run --help`).
run: install
	$(BIN)/dualpath run $(if $(DEMO_BUG),--demo-bug $(DEMO_BUG))

test: test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The contract tier with the system PostgreSQL out of reach (the configured URL is a closed
# port, PGHOST a directory without a socket), so only the embedded fallback can answer.
test-embedded: test-deps
	DUALPATH_TEST_ADMIN_URL=postgresql://postgres@127.0.0.1:1/postgres \
	DUALPATH_TEST_EMBEDDED_FALLBACK=1 PGHOST=/nonexistent \
	$(BIN)/python -m pytest tests/contract $(PYTEST_ARGS)

test-all: test-deps
	DUALPATH_SLOW=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
