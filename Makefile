# Two commands: `make run` (install, load the demo archive, serve) and `make test` (install, run every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test bench-quality bench-speed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

run: install
	$(BIN)/zhigu init-db
	$(BIN)/zhigu demo
	$(BIN)/zhigu run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

bench-quality: install
	$(BIN)/python bench/quality.py

bench-speed: install
	$(BIN)/python bench/speed.py
