# medmine: `make demo` and `make test` are the only set-up commands on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench clean chromium cluster-test

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/medmine demo --warehouse medmine.duckdb --reports reports

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

# Two workers by default (the suite is CPU-bound; each test file runs in one worker, so its
# module fixtures are built once). TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2

test: lint chromium
	$(BIN)/pytest -n $(TEST_JOBS) --dist loadfile

# Browser tests (tests/serve/test_browser.py) drive Debian's Chromium; they skip without it.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get install -y chromium >/dev/null 2>&1 \
	  || sudo -n apt-get install -y chromium >/dev/null 2>&1 \
	  || echo "chromium not installed: the browser tests will skip")

format: $(STAMP)
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

# Benchmarks take minutes each and write bench/results/<name>.json; run by hand.
bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# A Spark standalone master and two workers on loopback (Spark's own daemon script), FHIR
# ingest + quality + covariates against them, then stopped (tests/spark/test_cluster.py).
cluster-test: $(STAMP)
	MEDMINE_CLUSTER_TEST=1 $(BIN)/pytest -q -p no:randomly tests/spark/test_cluster.py

clean:
	rm -rf $(VENV) reports medmine.duckdb* medmine_deid.duckdb* sim.duckdb* synthea.duckdb* .pytest_cache
