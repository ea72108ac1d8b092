# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INI    ?= development.ini

.PHONY: run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-run: $(BIN)/python setup.py pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

# The client library (client/, its own project) is installed too: its tests run in `make test`.
$(VENV)/.installed-test: $(BIN)/python setup.py pyproject.toml client/pyproject.toml
	$(BIN)/pip install -q -e ".[test]" -e "./client[shop]"
	touch $@

## make run: install, initialise the SQLite database, create the demo config (printing its keys),
## then serve the gateway, the sandbox and a worker on http://127.0.0.1:6543 until Ctrl-C.
run: $(VENV)/.installed-run
	$(BIN)/polybanking --ini $(INI) initdb
	$(BIN)/polybanking --ini $(INI) demo

## make test: install with the test extras and run the whole suite (ruff included).
test: $(VENV)/.installed-test
	$(BIN)/ruff check polybanking tests alembic bench client
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check polybanking tests alembic bench client

clean:
	rm -rf $(VENV) *.egg-info polybanking.sqlite polybanking.sqlite-* polybanking-huey.sqlite* sandbox-ledger.jsonl
