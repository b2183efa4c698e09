# The two commands a newcomer needs (see README.md):
#   make run    install everything, then run the daemon against the embedded sandbox AWS
#   make test   install everything, then run lint, type checks and the whole test suite
# Dependencies come from the lock files in requirements/ (exact versions, sha256 hashes);
# `make lock` regenerates them from pyproject.toml (docs/operations.md, "Dependencies").
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# npm projects installed by `make install`: only the sandbox tests' second-language client
# (the AWS SDK for JavaScript v3). The harness's JavaScript (acorn, the stand-in of the
# Lambda runtime's AWS SDK) is committed, rebuilt from its lockfile by
# reconciler/functions/js/vendor.sh; function folders need no node_modules.
NPM_DIRS := $(dir $(wildcard tests/*/js/package-lock.json))
PYTEST_ARGS ?=
# Two workers (pytest-xdist): the suite takes ~10 min on 2 cores instead of ~17 serially.
# Every worker has its own sandbox on a free port; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
LOCKS := requirements/dev.txt requirements/build.txt
# uv pip compile: one resolution valid on every platform and Python >= 3.11 (the image
# runs Debian's 3.13, CI 3.11), every file of every pinned version hashed.
COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes

.PHONY: run test install lint typecheck pytest clean lock lock-upgrade

run: install
	$(BIN)/reconciler run --sandbox --sandbox-port 4566 --sandbox-edge-port 8081

test: install lint typecheck pytest

install: $(VENV)/.installed $(patsubst %,%node_modules/.installed,$(NPM_DIRS))

# --require-hashes: only the locked versions with the locked hashes install, and a
# dependency missing from the lock is an error (not a silent resolve). The project itself
# goes in without dependencies and without build isolation (its build backend comes from
# requirements/build.txt). pip check: pyproject.toml names something the lock does not
# satisfy -> run `make lock`.
$(VENV)/.installed: pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/dev.txt -r requirements/build.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "the lock does not satisfy pyproject.toml: run 'make lock'"; exit 1; }
	touch $@

%node_modules/.installed: %package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Regenerate the lock files from pyproject.toml, keeping every pin that still fits (only
# new or changed requirements move). After a merge: take either side of requirements/,
# then `make lock`. `make lock-upgrade` moves everything to the newest allowed versions.
lock: $(BIN)/uv
	$(COMPILE) requirements/tools.in -o requirements/tools.txt
	$(COMPILE) pyproject.toml --extra dev -o requirements/dev.txt
	$(COMPILE) pyproject.toml -c requirements/dev.txt -o requirements/runtime.txt
	$(COMPILE) requirements/build.in -c requirements/dev.txt -o requirements/build.txt

lock-upgrade: $(BIN)/uv
	$(MAKE) lock COMPILE="$(COMPILE) --upgrade"

# The lock tool itself is locked (requirements/tools.txt) and needs only pip to install.
$(BIN)/uv: requirements/tools.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements/tools.txt
	touch $@

lint:
	$(BIN)/ruff check reconciler tests benchmarks
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy reconciler

pytest:
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(patsubst %,%node_modules,$(NPM_DIRS))
