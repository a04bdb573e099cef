# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean venv check-fresh

# Creates the virtualenv and installs the pinned development environment. The stamp makes a
# second run instant; it is rebuilt whenever a pyproject.toml changes.
$(STAMP): pyproject.toml device/robot-pi/pyproject.toml tests/scanners/checkov-requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]' -e './device/robot-pi[camera]'
	@# checkov pins its own boto3: it gets an environment of its own, for the template scan test
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check -r tests/scanners/checkov-requirements.txt
	@# circuitpython-stubs' board module knows no pins until a board is chosen (make lint)
	$(VENV)/bin/circuitpython_setboard pyportal >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m tools.stack $(ARGS)

# Four workers on two cores: most of the suite waits on brokers, browsers and simulated links,
# so two per core keep both busy. Each file stays in one worker (its module fixtures are built
# once), the browser files share one, and the longest start first (tests/conftest.py).
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 4

test: lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# ruff; mypy over cloud/, tools/, the agent and testing/ (pyproject.toml), and over the
# PyPortal code against circuitpython-stubs (stubs/pyportal/mypy.ini).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m mypy --config-file stubs/pyportal/mypy.ini

# A newcomer's first run: clone the committed HEAD into a temporary folder and run `make test`
# there from nothing (its own .venv, no activated virtualenv). CI does not need it: CI is
# itself a fresh clone.
check-fresh:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git clone --quiet "$(CURDIR)" "$$tmp/clone" && start=$$(date +%s) && \
	env -u VIRTUAL_ENV PATH="$$(printf %s "$$PATH" | tr : '\n' | grep -v '/\.venv/' | paste -sd: -)" \
	    $(MAKE) --no-print-directory -C "$$tmp/clone" test && \
	echo "check-fresh: make test passed in a fresh clone in $$(( $$(date +%s) - start )) s"

bench: $(STAMP)
	@for b in bench/[a-z]*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; \
	    $(PY) -m bench.$$m || exit 1; done

clean:
	rm -rf $(VENV) .local-data out .pytest_cache .ruff_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
