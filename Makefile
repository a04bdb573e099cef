# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint lint-web test-web bench clean clean-secrets venv check-fresh lock

# `make run` installs what running needs (requirements/run.txt); `make test` (and lint, bench)
# adds the test and scan tools (requirements/test.txt, and checkov in an environment of its
# own). Both are hash-locked by `make lock` from the pins declared in the pyproject.toml files;
# the project's own packages go in editable, with no dependencies of their own.
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# The libraries each CircuitPython release freezes into the PyPortal firmware, one folder per
# set of releases (tools/pyportal_sim/firmwares/*.txt, hash-pinned): the simulator's --firmware
# and the tests on CircuitPython's own core run them.
FIRMWARE_LIBS := $(patsubst tools/pyportal_sim/firmwares/%.txt,$(VENV)/circuitpython-libs/%/.installed,$(wildcard tools/pyportal_sim/firmwares/*.txt))

$(RUN_STAMP): requirements/run.txt pyproject.toml device/robot-pi/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements/run.txt
	$(PIP) --no-deps -e . -e ./device/robot-pi
	@touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP) requirements/test.txt requirements/checkov.txt
	$(PIP) --require-hashes -r requirements/test.txt
	@# checkov pins its own boto3: it gets an environment of its own, for the template scan test
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check \
	    --require-hashes -r requirements/checkov.txt
	@# checkov's JSONPath parser builds its PLY parse table anew for every expression (50 ms
	@# each, 2 s of a scan); PLY reads the same table from a module written beside the parser
	$(VENV)/checkov/bin/python -c 'import os, ply.yacc; from bc_jsonpath_ng.ext import parser; \
	    ply.yacc.yacc(module=parser.ExtentedJsonPathParser(), start="jsonpath", debug=False, \
	    tabmodule="parser_jsonpath_parsetab", outputdir=os.path.dirname(parser.__file__))'
	@# circuitpython-stubs' board module knows no pins until a board is chosen (make lint)
	$(VENV)/bin/circuitpython_setboard pyportal >/dev/null
	@touch $(TEST_STAMP)

$(VENV)/circuitpython-libs/%/.installed: tools/pyportal_sim/firmwares/%.txt | $(RUN_STAMP)
	@rm -rf $(VENV)/circuitpython-libs/$*
	$(PIP) --no-deps --no-compile --require-hashes --only-binary=:all: \
	    --target $(VENV)/circuitpython-libs/$* -r $<
	@touch $@

# The control page's checks (tests/web): ESLint, tsc over its JSDoc types and node --test, with
# the dev dependencies pinned by tests/web/package-lock.json. The page itself has no build step
# and no runtime dependency: none of this is served.
WEB    := tests/web
WEBBIN := $(WEB)/node_modules/.bin
WEBSTAMP := $(WEB)/node_modules/.installed

$(WEBSTAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the page's checks (Node.js 20 or newer)"; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(WEBSTAMP)

venv: $(TEST_STAMP) $(WEBSTAMP) $(FIRMWARE_LIBS)

run: $(RUN_STAMP) $(FIRMWARE_LIBS)
	$(PY) -m tools.stack $(ARGS)

# Resolves the declared pins, with every dependency of theirs, into hash-locked files: for
# every platform (--universal) from Python 3.11 on; run.txt takes test.txt's versions. The Pi's: the agent alone, and with its
# camera (numpy comes from Pi OS: install.sh keeps the system's).
UV := $(VENV)/bin/uv
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes
LOCK_TOOL = $$($(PY) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["lock"][0])')
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) "$(LOCK_TOOL)"
	$(COMPILE) pyproject.toml device/robot-pi/pyproject.toml --extra camera --extra test \
	    -o requirements/test.txt
	$(COMPILE) pyproject.toml device/robot-pi/pyproject.toml --extra camera \
	    -c requirements/test.txt -o requirements/run.txt
	$(COMPILE) tests/scanners/checkov-requirements.txt -o requirements/checkov.txt
	$(COMPILE) device/robot-pi/pyproject.toml --extra pi -o device/robot-pi/requirements.lock
	$(COMPILE) device/robot-pi/pyproject.toml --extra pi --extra camera --no-emit-package numpy \
	    -o device/robot-pi/requirements-camera.lock

# Four workers on two cores: most of the suite waits on brokers, browsers and simulated links,
# so two per core keep both busy. Each file stays in one worker (its module fixtures are built
# once), the browser files share one, and the longest start first (tests/conftest.py).
# TEST_WORKERS=0 runs everything in one process. Python may write bytecode here even where
# PYTHONDONTWRITEBYTECODE is set: otherwise every worker recompiles (and pytest rewrites) each
# test file, and every child process each module it imports, on every run.
TEST_WORKERS ?= 4

test: lint test-web $(FIRMWARE_LIBS)
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile \
	    --no-loadscope-reorder $(PYTEST_ARGS)

# ruff; mypy over cloud/, tools/, the agent and testing/ (pyproject.toml), and over the
# PyPortal code against circuitpython-stubs (stubs/pyportal/mypy.ini).
lint: $(TEST_STAMP) lint-web
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m mypy --config-file stubs/pyportal/mypy.ini

lint-web: $(WEBSTAMP)
	$(WEBBIN)/eslint --config $(WEB)/eslint.config.js --max-warnings 0 cloud/web $(WEB)
	$(WEBBIN)/tsc -p $(WEB)/tsconfig.json

test-web: $(WEBSTAMP)
	cd $(WEB) && node --test --test-reporter=spec

# A newcomer's first run: clone the committed HEAD into a temporary folder and run `make test`
# there from nothing (its own .venv, no activated virtualenv). CI does not need it: CI is
# itself a fresh clone.
check-fresh:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git clone --quiet "$(CURDIR)" "$$tmp/clone" && start=$$(date +%s) && \
	env -u VIRTUAL_ENV PATH="$$(printf %s "$$PATH" | tr : '\n' | grep -v '/\.venv/' | paste -sd: -)" \
	    $(MAKE) --no-print-directory -C "$$tmp/clone" test && \
	echo "check-fresh: make test passed in a fresh clone in $$(( $$(date +%s) - start )) s"

bench: $(TEST_STAMP) $(FIRMWARE_LIBS)
	@for b in bench/[a-z]*.py; do m=$$(basename $$b .py); echo "== bench.$$m"; \
	    $(PY) -m bench.$$m || exit 1; done

# What cannot be rebuilt: the deploy's state, robot keys and device files (out/deploy), the
# local stack's API key, token and MQTT passwords (.local-data). Only clean-secrets deletes them.
SECRETS := out/deploy .local-data

# The environment, caches and rebuildable output; what cannot be rebuilt stays.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache out/e2e build .local-data/mars \
	    .local-data/pyportal.png
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	@for p in $(SECRETS); do if [ -e "$$p" ]; then \
	    echo "kept $$p (deploy state, keys, local credentials: make clean-secrets deletes it)"; fi; done

# Deletes the deploy's state and robot keys and the local credentials: an installed PyPortal
# or robot must then be set up again. Lists each file first.
clean-secrets:
	@found=; for p in $(SECRETS); do if [ -e "$$p" ]; then found=1; \
	    echo "clean-secrets: deleting $$p:"; find "$$p" -type f | sed 's/^/  /'; fi; done; \
	    if [ -z "$$found" ]; then echo "clean-secrets: nothing to delete"; fi
	rm -rf $(SECRETS)
