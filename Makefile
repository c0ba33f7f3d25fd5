# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   every tap against its bundled simulator, into DuckDB, then what landed
#   make test   the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test benchmark clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,demo]"
	touch $@

# Quiet by default (a line per tap, warnings, tables; full logs in output/logs/);
# `make demo VERBOSE=1` shows every command's output as it comes.
demo: $(VENV)/.installed
	$(PY) scripts/demo.py $(if $(filter-out 0 no false,$(VERBOSE)),--verbose,)

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

benchmark: $(VENV)/.installed
	for b in benchmarks/*_benchmark.py; do echo "== $$b"; $(PY) $$b || exit 1; echo; done

clean:
	rm -rf $(VENV) .meltano output
