# Two commands: `make run` (install, load the demo archive, serve) and `make test` (install, run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

#: Test processes (pytest-xdist): one per core; `make test PYTEST_WORKERS=0` runs in this process only.
PYTEST_WORKERS ?= auto
PYTEST_ARGS := -n $(PYTEST_WORKERS) --durations=15

# Python keeps compiled modules (and pytest its rewritten test modules) even where the environment says not to:
# every test process would otherwise compile them all again.
unexport PYTHONDONTWRITEBYTECODE

#: The PostgreSQL server `make test-postgres` creates its throwaway database on (dropped at the end).
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install install-app install-multilingual run test test-postgres screenshots bench-quality bench-speed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What running the app needs; `install` adds the test and browser-test tools.
install-app: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

# The tests run with the multilingual extra too, so the tests of what it adds run (they skip without it).
# Done again only when the project's metadata changes (the stamp file), not on every `make test`: pip took
# 6 to 10 s to rebuild the editable install each time.
install: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,e2e,multilingual,bench]'
	touch $@

# The optional multilingual extra (sentence vectors for "find similar" across Chinese and English). Then embed
# the cases already in the archive with `zhigu search embed` (0.13-0.4 s of CPU per case, once), or leave them
# to `zhigu worker`, which embeds what is missing when it starts and after every change.
install-multilingual: install-app
	$(BIN)/python -m pip install --quiet -e '.[multilingual]'

run: install-app
	$(BIN)/zhigu init-db
	$(BIN)/zhigu demo
	$(BIN)/zhigu run --host $(HOST) --port $(PORT)

# SQLite; tests that need PostgreSQL run when a server answers at POSTGRES_URL and are listed as skipped otherwise.
test: install
	ZHIGU_TEST_POSTGRES_URL='$(POSTGRES_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite again on PostgreSQL, in a database of its own: every test that uses the suite's database (the browser
# tests, whose server runs on its own SQLite database, and the tests that use none already ran in `make test`).
test-postgres: install
	ZHIGU_TEST_DATABASE_URL='$(POSTGRES_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS) --ignore=tests/e2e

# Run the browser tests and keep their screenshots in docs/screenshots (needs Chromium: apt-get install chromium).
screenshots: install
	ZHIGU_E2E_REQUIRED=1 ZHIGU_E2E_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e -k screenshots

bench-quality: install
	$(BIN)/python bench/quality.py

bench-speed: install
	$(BIN)/python bench/speed.py
