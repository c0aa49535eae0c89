# The two commands of the README's Quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/auditcycle demo

test: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) auditcycle.db outbox reports

# Benchmarks (kept out of `make test`): python -m benchmarks --help
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The concurrency sweep (kept out of `make test`, which races the sample phase once): every writing
# phase raced ROUNDS times by two real processes, on SQLite and, when AUDITCYCLE_TEST_POSTGRES_URL is
# set, on PostgreSQL too; prints the figures.
.PHONY: concurrency
ROUNDS ?= 3
concurrency: $(STAMP)
	AUDITCYCLE_RACE_PHASES=sample,notify,book AUDITCYCLE_RACE_ROUNDS=$(ROUNDS) AUDITCYCLE_CLI_CLASH=1 $(BIN)/pytest -q -p no:cacheprovider tests/test_concurrency.py tests/test_access_matrix.py
