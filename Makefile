# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   every tap against its bundled simulator, into DuckDB, then what landed
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Every distribution of the workspace, installed editable (see pyproject.toml).
DISTRIBUTIONS := taps/support-taps-core taps/tap-thankful taps/tap-dixa taps/tap-thena \
	taps/tap-xenioo taps/tap-khoros-care simulators orchestrator
# SDK=... installs another singer-sdk release in the venv (`.ci/run` tests both ends of the range).
SDK ?=

.PHONY: demo test test-fast lint typecheck format benchmark plugin-definitions accounts fanout clean

$(VENV)/.installed: pyproject.toml $(addsuffix /pyproject.toml,$(DISTRIBUTIONS))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet $(addprefix -e ,$(DISTRIBUTIONS)) --group dev
	touch $@

# Quiet by default (a line per tap, warnings, tables; full logs in output/logs/);
# `make demo VERBOSE=1` shows every command's output as it comes.
demo: $(VENV)/.installed
	$(PY) scripts/demo.py $(if $(filter-out 0 no false,$(VERBOSE)),--verbose,)

# The tests (and benchmarks) start the taps and Meltano as processes hundreds of times, and each
# must load this repository's modules from cached bytecode, not compile them again: one that sets
# PYTHONDONTWRITEBYTECODE (some CI images do) costs the fast tests a third of their CPU time.
# An empty value is unset to Python; __pycache__/ is ignored by git.
test test-fast benchmark: export PYTHONDONTWRITEBYTECODE =

# Four pytest-xdist workers by default (pyproject.toml, addopts); `make test PYTEST_ARGS=-n0`
# runs every test in one process, in order (e.g. to read a failing test's output in sequence).
test: $(VENV)/.installed
	$(if $(SDK),$(PY) -m pip install --quiet "singer-sdk==$(SDK)")
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: everything but the slow tests (fault matrix, real PostgreSQL) and the ones
# that install the taps into fresh environments (wheels, `meltano add`, the demo).
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" --ignore=tests/packaging/test_meltano_add.py \
		--ignore=tests/packaging/test_wheels.py --ignore=tests/test_demo_duckdb.py $(PYTEST_ARGS)

# Lint and format checks, as CI runs them; `make format` applies the formatter and safe fixes.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Type checks of the core and the taps (settings in pyproject.toml: [tool.mypy]).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerates the Hub definitions (hub/extractors/), the extractors' settings and
# capabilities in meltano.yml and each tap README's settings table from `--about`.
plugin-definitions: $(VENV)/.installed
	$(PY) scripts/plugin_definitions.py

# The orchestrated fan-out on this machine: PostgreSQL, three simulated accounts per vendor,
# the orchestrator's `fanout` job (Dagster) running all 15 pipelines in parallel, rows per
# account (scripts/fanout.py; FANOUT_ARGS='--accounts 5 --max-concurrent 6' to change it).
fanout: $(VENV)/.installed
	$(PY) scripts/fanout.py $(FANOUT_ARGS)

# One extractor per account (inheriting from its tap) in accounts.meltano.yml, from accounts.yml.
accounts: $(VENV)/.installed
	$(PY) scripts/accounts.py

# Every benchmark prints its figures beside their targets; the last step tabulates them all
# (from output/benchmark-results.jsonl) and fails if a target was missed.
benchmark: $(VENV)/.installed
	mkdir -p output && rm -f output/benchmark-results.jsonl
	failed=0; for b in benchmarks/*_benchmark.py; do echo "== $$b"; \
		BENCHMARK_RESULTS=output/benchmark-results.jsonl $(PY) $$b || failed=1; echo; done; \
	$(PY) benchmarks/verdict.py output/benchmark-results.jsonl && [ $$failed = 0 ]

clean:
	rm -rf $(VENV) .meltano output
