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

# The hostile-input corpus with its opt-in million-row files (minutes); the rest runs in `make test`.
.PHONY: hostile
hostile: $(STAMP)
	AUDITCYCLE_RELIABILITY=1 $(BIN)/pytest -q -p no:cacheprovider tests/hostile
