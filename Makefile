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

test: lint $(STAMP)
	$(BIN)/pytest -q

# Absolute imports only, sorted, no unused names (ruff); no code written twice (pylint's duplicate-code).
.PHONY: lint
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pylint --rcfile pyproject.toml auditcycle flows tasks notifications models

clean:
	rm -rf $(VENV) auditcycle.db outbox reports

# Benchmarks (kept out of `make test`): python -m benchmarks --help
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks

# A whole month, every phase at DEBUG, scanned for planted personal data (kept out of `make test`, ~3 min).
.PHONY: privacy-sweep
privacy-sweep: $(STAMP)
	$(BIN)/pytest -q -s -m sweep tests/privacy/test_privacy.py

# The full crash sweep (kept out of `make test`): SIGKILL a real notify run at every fault point and at
# random moments, at least 50 runs a database, and sample and book at random moments, 20 runs each;
# figures in benchmarks/results/reliability-*.json. Set AUDITCYCLE_TEST_POSTGRES_URL to sweep PostgreSQL
# as well; AUDITCYCLE_CRASH_RUNS_NOTIFY (…_SAMPLE, …_BOOK) for more runs.
.PHONY: reliability
reliability: $(STAMP)
	$(BIN)/pytest -q -s -m reliability tests/runs/test_crash.py

# The hostile-input corpus with its opt-in million-row files (minutes); the rest runs in `make test`.
.PHONY: hostile
hostile: $(STAMP)
	AUDITCYCLE_RELIABILITY=1 $(BIN)/pytest -q -p no:cacheprovider tests/hostile

# The concurrency sweep (kept out of `make test`, which races the sample phase once): every writing
# phase raced ROUNDS times by two real processes, on SQLite and, when AUDITCYCLE_TEST_POSTGRES_URL is
# set, on PostgreSQL too; prints the figures.
.PHONY: concurrency
ROUNDS ?= 3
concurrency: $(STAMP)
	AUDITCYCLE_RACE_PHASES=sample,notify,book AUDITCYCLE_RACE_ROUNDS=$(ROUNDS) AUDITCYCLE_CLI_CLASH=1 $(BIN)/pytest -q -p no:cacheprovider tests/runs/test_concurrency.py tests/people/test_access_matrix.py

# The full cluster test (kept out of `make test`, which runs its smoke test): a Prefect server on the
# machine's PostgreSQL (a database of its own, dropped after), prefect.yaml deployed, two process workers;
# a month of phases against one process, a worker killed mid-run and its run finished on the other, and
# two runs of one phase taking turns (~6 min; ~9 with AUDITCYCLE_TEST_POSTGRES_URL set, which also names
# the PostgreSQL server and runs the killed-worker and concurrency tests on it).
.PHONY: cluster
cluster: $(STAMP)
	$(BIN)/pytest -q -s -p no:cacheprovider -m cluster tests/cluster
