# The two commands of the README: `make run` and `make test`.
# Only Python 3.11 and a C compiler are needed; PostgreSQL, Redis and a Kafka broker are
# started from PyPI packages when DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS are unset.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench clean

run: $(VENV)/.run-deps
	exec $(BIN)/python -m config.launcher

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt requirements-devstack.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-devstack.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-devstack.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

clean:
	rm -rf $(VENV) .devstack .pytest_cache .ruff_cache
