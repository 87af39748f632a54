# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Each creates .venv and installs what it needs when missing (again when pyproject.toml changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed


.PHONY: demo test check lab dashboard lint local-up local-down clean browser

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

demo: $(INSTALLED)  ## local stack up, every notebook through the report runner, index of reports
	$(BIN)/energy-workbook demo

test: $(INSTALLED) browser  ## every test: unit, integration, end to end, notebooks (nbval), browser, security, benchmarks
	$(BIN)/python -m pytest

check: $(INSTALLED)  ## the fast loop: every test not marked slow (no notebooks, stacks, browser, security tools)
	$(BIN)/python -m pytest -m "not slow" -q

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:  ## headless Chromium (or Chrome): the report test checks that charts draw offline, the browser tests drive it
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; } \
		|| { echo "install Chromium (Debian: apt-get install chromium) and run again"; exit 1; }

lab: $(INSTALLED)  ## JupyterLab on notebooks/ with the local stack up
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	$(BIN)/energy-workbook local up
# as root (containers), Jupyter refuses to start without --allow-root
	$(BIN)/jupyter lab notebooks/ $(if $(SUDO),,--allow-root)

DASHBOARD_PORT ?= 8866

dashboard: $(INSTALLED)  ## the explorer, business report, operations, raw files and simulation panel as a web app on 127.0.0.1
	$(BIN)/energy-workbook dashboard --port $(DASHBOARD_PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

local-up: $(INSTALLED)
	$(BIN)/energy-workbook local up

local-down: $(INSTALLED)
	$(BIN)/energy-workbook local down

clean:
	-$(BIN)/energy-workbook local down
	rm -rf $(VENV) .venv-checkov build reports .pytest_cache test-artifacts
